"""Payment terms: when a deposit or pay-on-ready line's balance falls due, and what is held.

Allot never touches card data. An order may carry terms (`paid`, `deposit`, `on_ready`), a deposit
and a currency, and its lines a unit price; when a `deposit` or `on_ready` line's units are all ready
(the planner's `order_line.ready`), an `order_line.balance_due` event tells the merchant's payment
system to charge. It is derived from the `ready` events themselves, in the same transaction
(`with_balance_due`, called by `common.record`), so it follows the planner's order — oldest in the
queue first as units arrive — and exists exactly when the change that made the line ready does.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from allot.domain import events as kinds
from allot.domain.errors import Invalid
from allot.store.bulk import insert_events
from allot.store.tables import line_payments, order_lines, order_payments, orders, skus

CENT = Decimal("0.01")
DUE_TERMS = ("deposit", "on_ready")
CHUNK = 1000


def record_terms(conn: Connection, ref: str, payment: dict[str, Any] | None, lines: list[dict[str, Any]],
                 now: datetime) -> None:
    """Keep an order's terms and prices, in the order's transaction; a line ready at once has its balance due."""
    prices = [ln.get("unit_price") for ln in lines]
    if payment is None and all(p is None for p in prices):
        return
    terms = (payment or {}).get("terms", "paid")
    currency = (payment or {}).get("currency")
    deposit = Decimal(str((payment or {}).get("deposit") or 0)).quantize(CENT)
    _check(terms, currency, deposit, prices)
    order = conn.execute(select(orders.c.id).where(orders.c.ref == ref)).one()
    conn.execute(insert(order_payments).values(order_id=order.id, terms=terms, deposit=deposit,
                                               currency=(currency or "").upper()))
    rows = conn.execute(select(order_lines.c.id, order_lines.c.line, order_lines.c.qty)
                        .where(order_lines.c.order_id == order.id).order_by(order_lines.c.line)).all()
    values = [Decimal(str(p or 0)).quantize(CENT) * r.qty for p, r in zip(prices, rows, strict=True)]
    shares = _shares(deposit, values)
    conn.execute(insert(line_payments), [
        {"order_line_id": r.id, "unit_price": Decimal(str(p or 0)).quantize(CENT), "deposit": share}
        for p, r, share in zip(prices, rows, shares, strict=True)])
    if terms in DUE_TERMS:
        ready = [{"type": kinds.ORDER_LINE_READY, "order_ref": ref, "line": r.line} for r in rows]
        due = _due_rows(conn, now, ready, only_state_ready=True)
        if due:
            insert_events(conn, due)


def _check(terms: str, currency: str | None, deposit: Decimal, prices: list[Any]) -> None:
    if terms in DUE_TERMS:
        if not currency:
            raise Invalid("payment.currency", f"needed with terms {terms!r}")
        for i, p in enumerate(prices):
            if p is None:
                raise Invalid(f"lines.{i}.unit_price", f"needed with terms {terms!r}")
    if terms != "deposit" and deposit:
        raise Invalid("payment.deposit", "only with terms 'deposit'")
    if terms == "deposit" and not deposit:
        raise Invalid("payment.deposit", "needed with terms 'deposit'")


def _shares(deposit: Decimal, values: list[Decimal]) -> list[Decimal]:
    """The deposit (in cents, as are the line values) split over the lines in proportion to their value,
    in whole cents: each share is its exact part rounded down or up, so never below zero nor above its
    line, and they add up to the deposit.

    Not each share rounded to the cent with the last taking what is left: rounded half up, four lines'
    quarter cents were a cent each, and the last line's share -1 cent."""
    held, lines = _cents(deposit), [_cents(v) for v in values]
    whole = sum(lines)
    if not held or not whole:
        return [Decimal(0)] * len(values)
    if held > whole:
        raise Invalid("payment.deposit", f"{deposit} is more than the order's value {sum(values, Decimal(0))}")
    shares = [held * c // whole for c in lines]
    # The cents that rounding down left (fewer than the lines with a fraction) go one each to the largest
    # fractions, the earliest line first on a tie: so a share is its exact part rounded up or down.
    by_fraction = sorted(range(len(lines)), key=lambda i: -(held * lines[i] % whole))
    for i in by_fraction[:held - sum(shares)]:
        shares[i] += 1
    return [Decimal(c) * CENT for c in shares]


def _cents(amount: Decimal) -> int:
    # A fraction of a cent could not be split exactly in cents; the API takes 2 decimals, so this is a bug.
    if amount != amount.quantize(CENT) or amount < 0:
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(amount / CENT)


def with_balance_due(conn: Connection, now: datetime, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The event rows with an `order_line.balance_due` right after each `ready` of a line whose balance is
    not yet due. No query unless some line became ready."""
    if not any(r["type"] == kinds.ORDER_LINE_READY for r in rows):
        return rows
    ready = [r for r in rows if r["type"] == kinds.ORDER_LINE_READY and r.get("order_ref")]
    due = {(d["order_ref"], d["line"]): d for d in _due_rows(conn, now, ready, only_state_ready=False)}
    if not due:
        return rows
    out: list[dict[str, Any]] = []
    for r in rows:
        out.append(r)
        found = due.pop((r.get("order_ref"), r.get("line")), None) if r["type"] == kinds.ORDER_LINE_READY else None
        if found is not None:
            out.append({**r, **found})
    return out


def _due_rows(conn: Connection, now: datetime, ready: Sequence[dict[str, Any]],
              *, only_state_ready: bool) -> list[dict[str, Any]]:
    """Mark the balance of these ready lines due (once) and make their event rows, in the given order."""
    refs = sorted({r["order_ref"] for r in ready})
    found: dict[tuple[str, int], Any] = {}
    for i in range(0, len(refs), CHUNK):
        for row in conn.execute(_DUE.params(refs=refs[i:i + CHUNK])):
            found[(row.ref, row.line)] = row
    out: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for r in ready:
        row = found.pop((r["order_ref"], r["line"]), None)
        if row is None or (only_state_ready and row.state != "ready"):
            continue
        open_units = row.qty - row.qty_shipped - row.qty_cancelled
        amount = max(Decimal(0), row.unit_price * open_units - row.deposit).quantize(CENT)
        marks.append({"_id": row.order_line_id, "amount": amount})
        out.append({"type": kinds.ORDER_LINE_BALANCE_DUE, "version": kinds.VERSIONS[kinds.ORDER_LINE_BALANCE_DUE],
                    "occurred_at": now, "sku": row.sku, "order_ref": row.ref, "line": row.line,
                    "data": {"amount": str(amount), "currency": row.currency, "terms": row.terms, "qty": open_units}})
    if marks:
        conn.execute(update(line_payments).where(line_payments.c.order_line_id == bindparam("_id"))
                     .values(balance_due=bindparam("amount"), balance_due_at=now), marks)
    return out


_DUE = (select(orders.c.ref, order_lines.c.line, order_lines.c.qty, order_lines.c.qty_shipped,
               order_lines.c.qty_cancelled, order_lines.c.state, skus.c.sku, line_payments.c.order_line_id,
               line_payments.c.unit_price, line_payments.c.deposit, order_payments.c.terms, order_payments.c.currency)
        .join(order_payments, order_payments.c.order_id == orders.c.id)
        .join(order_lines, order_lines.c.order_id == orders.c.id)
        .join(line_payments, line_payments.c.order_line_id == order_lines.c.id)
        .join(skus, skus.c.id == order_lines.c.sku_id)
        .where(orders.c.ref.in_(bindparam("refs", expanding=True)), order_payments.c.terms.in_(DUE_TERMS),
               line_payments.c.balance_due_at.is_(None)))


def terms_of(conn: Connection, ref: str) -> dict[str, Any] | None:
    """An order's payment terms as the API shows them, or None."""
    row = conn.execute(select(order_payments).join(orders, orders.c.id == order_payments.c.order_id)
                       .where(orders.c.ref == ref)).first()
    if row is None:
        return None
    return {"terms": row.terms, "deposit": str(row.deposit), "currency": row.currency or None}


def report(conn: Connection) -> dict[str, Any]:
    """Per currency: deposits held on lines not yet shipped, balance due (ready, unshipped) and balance
    still to come; and the lines behind the figures."""
    open_units = order_lines.c.qty - order_lines.c.qty_shipped - order_lines.c.qty_cancelled
    rows = conn.execute(
        select(orders.c.ref, order_lines.c.line, skus.c.sku, order_payments.c.terms, order_payments.c.currency,
               line_payments.c.unit_price, line_payments.c.deposit, line_payments.c.balance_due,
               line_payments.c.balance_due_at, open_units.label("open_units"), order_lines.c.state)
        .join(order_payments, order_payments.c.order_id == orders.c.id)
        .join(order_lines, order_lines.c.order_id == orders.c.id)
        .join(line_payments, line_payments.c.order_line_id == order_lines.c.id)
        .join(skus, skus.c.id == order_lines.c.sku_id)
        .where(and_(open_units > 0, order_payments.c.terms.in_(DUE_TERMS)))
        .order_by(orders.c.ref, order_lines.c.line)).all()
    totals: dict[str, dict[str, Decimal]] = {}
    lines = []
    for r in rows:
        t = totals.setdefault(r.currency, {"deposits_held": Decimal(0), "balance_due": Decimal(0),
                                           "balance_to_come": Decimal(0)})
        t["deposits_held"] += r.deposit
        if r.balance_due_at is not None:
            t["balance_due"] += r.balance_due or 0
        else:
            t["balance_to_come"] += max(Decimal(0), r.unit_price * r.open_units - r.deposit)
        lines.append({"order_ref": r.ref, "line": r.line, "sku": r.sku, "terms": r.terms, "currency": r.currency,
                      "open_units": r.open_units, "unit_price": str(r.unit_price), "deposit_held": str(r.deposit),
                      "balance_due": None if r.balance_due_at is None else str(r.balance_due),
                      "balance_due_at": r.balance_due_at, "state": r.state})
    return {"currencies": [{"currency": c, **{k: str(v.quantize(CENT)) for k, v in t.items()}}
                           for c, t in sorted(totals.items())], "lines": lines}
