"""Drops (BRIEF §11) inside one SKU's book: a channel's window, decided by one clock, and the units
each customer already has of a SKU with a `per_customer_limit`.

Both are decided where availability is: under the SKU lock, in the same transaction (a batch's, on
the group-commit path) as the sale, from values read once per book. A batch reads the windows with
the quotas, the customers' units with one query for all its limited SKUs (`load_customers`), and the
clock at most once per SKU; a sale of an unlimited SKU on a channel without a window costs nothing more.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, func, select, text, union_all

from allot.domain.errors import CustomerLimit, Invalid, NotOpen
from allot.domain.planner import Plan
from allot.services.book_sell import Selling
from allot.services.common import iso
from allot.store import deferred
from allot.store.tables import holds, order_lines, orders, sku_channels

if TYPE_CHECKING:
    from allot.services.book import Book

Window = tuple[datetime | None, datetime | None]


def database_clock(conn: Connection) -> datetime:
    """The one clock every window is decided by. PostgreSQL's (`clock_timestamp()`, read after the
    lock), so that processes and hosts with skewed clocks still agree to the second; SQLite has one
    host, whose clock it is."""
    if conn.dialect.name == "postgresql":
        value: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


class Drops(Selling):
    def know_window(self, channel: str | None, opens_at: datetime | None, closes_at: datetime | None) -> None:
        if channel is not None:
            self._windows[channel] = (_utc(opens_at), _utc(closes_at))

    def window(self, channel: str) -> Window:
        """The channel's window for this SKU, (None, None) when it has none."""
        if channel not in self._windows:
            row = self.conn.execute(
                select(sku_channels.c.quota, sku_channels.c.opens_at, sku_channels.c.closes_at)
                .where(sku_channels.c.sku_id == self.id, sku_channels.c.channel == channel)
            ).first()
            self._quotas.setdefault(channel, row.quota if row else None)
            self.know_window(channel, row.opens_at if row else None, row.closes_at if row else None)
        return self._windows[channel]

    def check_open(self, channel: str) -> datetime:
        """Refuse a sale outside the channel's window; returns the time the sale is stamped with.

        Inside a window that time is the decision clock's (never the request's, which may be
        earlier or skewed), so no sale is ever stamped before `opens_at`."""
        opens, closes = self.window(channel)
        if opens is None and closes is None:
            return self.now
        if self._clock is None:
            self._clock = database_clock(self.conn)
        t = self._clock
        if (opens is not None and t < opens) or (closes is not None and t >= closes):
            when = "has closed" if closes is not None and t >= closes else "is not open yet"
            raise NotOpen(f"{channel} {when} for {self.sku}", sku=self.sku, channel=channel,
                          opens_at=iso(opens), closes_at=iso(closes))
        self.advance(t)
        return self.now

    def decision_clock(self) -> datetime:
        """The clock windows are decided by, once read for this book (else the request's time)."""
        return self._clock or self.now

    def customer_units(self, customer: str) -> int:
        if customer not in self.customers:
            deferred.flush(self.conn)  # holds placed earlier in this batch
            load_customers(self.conn, [self], [customer], self.now)
        return self.customers.get(customer, 0)

    def claim(self, customer: str | None, qty: int, field: str = "customer",
              give_back: tuple[str | None, int] | None = None) -> None:
        """Count `qty` more units against the customer's allowance, or refuse (nothing changes then).

        `give_back`: a hold this sale turns into a line (its units were counted already)."""
        limit = self.row.per_customer_limit
        if limit is None:
            return
        if not customer:
            raise Invalid(field, f"{self.sku} is limited to {limit} per customer: name the customer")
        have = self.customer_units(customer)
        if give_back is not None and give_back[0] == customer:
            have -= give_back[1]
        if have + qty > limit:
            raise CustomerLimit(f"{customer} may have {limit} of {self.sku} and has {have}", sku=self.sku,
                                customer=customer, limit=limit, allowed=max(0, limit - have))
        self.customers[customer] = have + qty
        if give_back is not None and give_back[0] and give_back[0] != customer:
            self.customers[give_back[0]] = self.customer_units(give_back[0]) - give_back[1]

    def unclaim(self, customer: str | None, qty: int) -> None:
        """Give back what `claim` counted for a sale that was then refused (the book itself is not
        restored there: an offer's refusal only moves on to the next in line)."""
        if self.row.per_customer_limit is not None and customer:
            self.customers[customer] = self.customer_units(customer) - qty

    def tidy(self) -> None:
        """Also: a channel whose customers wait for its window to open has opened: offer them units."""
        super().tidy()
        if self.opening_due():
            self.replan({"op": "window.opened"})
            self.save()

    def opening_due(self) -> bool:
        """Has the first opening someone waits for come, by the clock `check_open` decides windows by?

        The request's clock may lag the database's: then a sale would pass `check_open` before the
        waiting customers were offered the units."""
        due = self.summary.get("next_opening")
        if due is None:
            return False
        if self._clock is None:
            self._clock = database_clock(self.conn)
        return datetime.fromisoformat(due) <= self._clock

    def replan(self, cause: dict[str, Any]) -> Plan:
        """The full plan, then offers to the waitlist: a re-plan is how units become sellable again."""
        after = super().replan(cause)
        from allot.services import waitlist

        waitlist.offer(cast("Book", self))
        return after


def load_customers(conn: Connection, books: Iterable[Book | Drops], customers: Iterable[str], now: datetime) -> None:
    """The units these customers have of these SKUs (those with a limit), in one query: active holds
    and order lines not cancelled (open or shipped)."""
    limited = {b.id: b for b in books if b.row.per_customer_limit is not None}
    names = sorted({c for c in customers if c})
    if not limited or not names:
        return
    h, ol = holds.c, order_lines.c
    held = (select(h.sku_id, h.customer, func.sum(h.qty).label("n"))
            .where(h.sku_id.in_(list(limited)), h.customer.in_(names), h.status == "active", h.expires_at > now)
            .group_by(h.sku_id, h.customer))
    bought = (select(ol.sku_id, orders.c.customer, func.sum(ol.qty - ol.qty_cancelled).label("n"))
              .join(orders, orders.c.id == ol.order_id)
              .where(ol.sku_id.in_(list(limited)), orders.c.customer.in_(names))
              .group_by(ol.sku_id, orders.c.customer))
    counts = {(sku_id, name): 0 for sku_id in limited for name in names}
    for sku_id, customer, n in conn.execute(union_all(held, bought)):
        counts[sku_id, customer] += int(n or 0)
    for (sku_id, name), n in counts.items():
        limited[sku_id].customers.setdefault(name, n)  # one counted already in this batch stands


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
