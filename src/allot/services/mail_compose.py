"""Messages made from the outbox: the mailer's cursor walks the published events and writes one
`messages` row per order per change (its events share the order and the commit time).

Only committed events are ever read (a rolled-back change has none), and the row is rendered once,
when made, with a Message-ID derived from its key: a resend carries the same bytes and the same id.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.domain.messages import Draft, drafts
from allot.services import templates
from allot.services.common import as_utc
from allot.services.links import Links
from allot.services.outbox import last_position
from allot.store.tables import channel_messages, events, mail_cursor, messages, order_lines, orders, skus

CURSOR = "mail"
BATCH = 500


@dataclass(frozen=True, slots=True)
class Context:
    """What composing needs from outside: the link signer and where links point."""

    links: Links
    public_url: str


def start_cursor(conn: Connection) -> None:
    """Messages start with the events after the first channel asks for them (nobody is mailed about
    the past)."""
    if conn.execute(select(mail_cursor.c.name).where(mail_cursor.c.name == CURSOR)).first() is None:
        conn.execute(insert(mail_cursor).values(name=CURSOR, position=last_position(conn)))


def compose(conn: Connection, now: datetime, ctx: Context, limit: int = BATCH) -> int:
    """Turn the events after the cursor into messages; returns how many events it passed."""
    cursor = conn.execute(select(mail_cursor.c.position).where(mail_cursor.c.name == CURSOR)
                          .with_for_update()).scalar()
    if cursor is None:
        return 0
    rows = conn.execute(select(events.c.position, events.c.type, events.c.occurred_at, events.c.sku,
                               events.c.order_ref, events.c.line, events.c.data)
                        .where(events.c.position > cursor).order_by(events.c.position).limit(limit)).all()
    rows = _whole_changes(list(rows), limit)
    if not rows:
        return 0
    batch = [{"position": r.position, "type": r.type, "occurred_at": as_utc(r.occurred_at).isoformat(),
              "sku": r.sku, "order_ref": r.order_ref, "line": r.line, "data": r.data} for r in rows]
    refs = sorted({e["order_ref"] for e in batch if e["order_ref"]})
    order_rows = _orders(conn, refs)
    settings = _settings(conn, {o.channel for o in order_rows.values()})
    wanted = {ref: set(settings[o.channel].send) for ref, o in order_rows.items()
              if o.email and o.channel in settings}
    made = drafts(batch, wanted)
    if made:
        names = _names(conn, {ln.sku for d in made for ln in d.lines.values()})
        _fill_quantities(conn, made)
        for draft in made:
            _write(conn, draft, order_rows[draft.order_ref], settings[order_rows[draft.order_ref].channel],
                   names, now, ctx)
    conn.execute(update(mail_cursor).where(mail_cursor.c.name == CURSOR).values(position=rows[-1].position))
    return len(rows)


def _whole_changes(rows: list[Any], limit: int) -> list[Any]:
    """A full batch may end inside one change: leave that change's events for the next batch."""
    if len(rows) < limit:
        return rows
    last = rows[-1].occurred_at
    kept = [r for r in rows if r.occurred_at != last]
    return kept or rows  # one change longer than a batch: told in parts


def _orders(conn: Connection, refs: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for i in range(0, len(refs), 1000):
        for o in conn.execute(select(orders.c.ref, orders.c.channel, orders.c.email, orders.c.customer)
                              .where(orders.c.ref.in_(refs[i:i + 1000]))):
            found[o.ref] = o
    return found


def _settings(conn: Connection, names: set[str]) -> dict[str, Any]:
    if not names:
        return {}
    return {r.channel: r for r in conn.execute(select(channel_messages).where(channel_messages.c.channel.in_(names)))}


def _fill_quantities(conn: Connection, made: list[Draft]) -> None:
    """A line's quantity (what it still has coming) where its events do not say."""
    refs = sorted({d.order_ref for d in made})
    qty: dict[tuple[str, int], int] = {}
    for i in range(0, len(refs), 1000):
        for r in conn.execute(select(orders.c.ref, order_lines.c.line, order_lines.c.qty, order_lines.c.qty_cancelled)
                              .join(order_lines, order_lines.c.order_id == orders.c.id)
                              .where(orders.c.ref.in_(refs[i:i + 1000]))):
            qty[(r.ref, r.line)] = r.qty - r.qty_cancelled
    for d in made:
        for ln in d.lines.values():
            if ln.qty is None:
                ln.qty = qty.get((d.order_ref, ln.line))


def _names(conn: Connection, sku_names: set[str]) -> dict[str, str]:
    return {r.sku: r.name or r.sku for r in conn.execute(select(skus.c.sku, skus.c.name)
                                                         .where(skus.c.sku.in_(sorted(sku_names))))}


def context_of(draft: Draft, order: Any, setting: Any, names: dict[str, str], link: str) -> dict[str, Any]:
    """The variables a template sees (docs/customers.md lists them)."""
    lines = [{"line": ln.line, "sku": ln.sku, "name": names.get(ln.sku, ln.sku), "qty": ln.qty,
              "qty_text": f"{ln.qty} × " if ln.qty and ln.qty > 1 else "", "state": ln.state,
              "old_date": ln.old_date, "new_date": ln.new_date, "why": ln.why, "changes": list(ln.kinds),
              "deadline": ln.deadline[:10] if ln.deadline else None, "default": ln.default}
             for ln in sorted(draft.lines.values(), key=lambda x: x.line)]
    return {"kind": draft.kind, "order_ref": draft.order_ref, "customer": order.customer or "",
            "shop": shop_name(setting), "lines": lines, "link": link, "can_cancel": bool(setting.customer_cancel)}


def shop_name(setting: Any) -> str:
    """The sender's display name, else the channel's name."""
    addr = setting.from_addr
    if "<" in addr:
        return str(addr.split("<", 1)[0].strip().strip('"')) or str(setting.channel)
    return str(setting.channel)


def _write(conn: Connection, draft: Draft, order: Any, setting: Any, names: dict[str, str], now: datetime,
           ctx: Context) -> None:
    key = f"{draft.order_ref}@{draft.occurred_at}#{draft.position}"[:200]
    if conn.execute(select(messages.c.id).where(messages.c.key == key)).first() is not None:
        return  # made already (a batch that ended inside this change)
    link = f"{ctx.public_url}/my/{ctx.links.token(draft.order_ref, now)}"
    context = context_of(draft, order, setting, names, link)
    rendered, problems = templates.render(templates.for_channel(conn, order.channel, draft.kind), context)
    if problems:  # the channel's wording failed on real data: the customer is still told, in the default's
        rendered, _ = templates.render(templates.default(draft.kind), context)
    conn.execute(insert(messages).values(
        key=key, message_id=message_id(key, setting.from_addr), channel=order.channel, order_ref=draft.order_ref,
        kind=draft.kind, to_addr=order.email, from_addr=setting.from_addr, reply_to=setting.reply_to,
        subject=rendered["subject"], text=rendered["text"], html=rendered["html"], position=draft.position,
        status="pending", attempts=0, next_attempt_at=now, created_at=now,
        last_error=f"channel template: {problems[0].reason}; sent in the default wording"[:500] if problems else None))


def message_id(key: str, from_addr: str) -> str:
    """Stable for one message: a copy sent twice (a crash between sending and marking it sent) carries the
    same Message-ID, which mail programs use to show it once."""
    domain = from_addr.rsplit("@", 1)[-1].strip(" >") or "allot.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"
