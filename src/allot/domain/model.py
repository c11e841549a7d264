"""The planner's vocabulary: supply buckets, queue lines, SKU and channel rules.

Pure values, standard library only. Time never comes from a clock here: `today` is passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Mode(StrEnum):
    STOCK = "stock"
    BACKORDER = "backorder"
    PREORDER = "preorder"


class Source(StrEnum):
    STOCK = "stock"
    PO = "po"
    MADE_TO_ORDER = "made_to_order"
    TRANSFER = "transfer"  # units on their way from another location: incoming, like a PO


class Split(StrEnum):
    """Whether a channel's line may take units from several locations (`avoid`: only when no one
    location can cover it and keeping it whole would cost no other line a unit)."""

    ALLOW = "allow"
    AVOID = "avoid"


class State(StrEnum):
    READY = "ready"
    AWAITING_RELEASE = "awaiting_release"
    AWAITING_STOCK = "awaiting_stock"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Allocation(StrEnum):
    """How scarce supply is shared: first come first served, or in proportion to open quantity."""

    FIFO = "fifo"
    FAIR_SHARE = "fair_share"


STOCK_KEY = "stock"
MADE_TO_ORDER_KEY = "mto"
MAIN = "main"  # the location that exists from the start and holds everything from before locations


def stock_key(location: str) -> str:
    """The on-hand bucket of a location; `main`'s keeps the key it had before locations."""
    return STOCK_KEY if location == MAIN else f"{STOCK_KEY}@{location}"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One source of supply with a date and a capacity (units that may be promised from it)."""

    key: str
    source: Source
    date: date
    capacity: int
    po_ref: str | None = None
    po_line: int | None = None
    po_seq: int = 0  # creation order of the PO, the tie-breaker between POs due the same day
    location: str = MAIN


_CLASS = {Source.STOCK: 0, Source.PO: 1, Source.TRANSFER: 1, Source.MADE_TO_ORDER: 2}


def bucket_order(bucket: Bucket, location_rank: int = 0) -> tuple[int, date, int, int, int, int]:
    """The one order in which a channel uses buckets: on hand, then incoming (POs and transfers) by
    date, then made to order; within a class, the date, then the channel's preference for the
    bucket's location (`location_rank`), then PO order (creation, line; a PO before a transfer)."""
    return (_CLASS[bucket.source], bucket.date, location_rank, int(bucket.source is Source.TRANSFER),
            bucket.po_seq, bucket.po_line or 0)


def po_capacity(remaining: int, incoming_buffer: Decimal) -> int:
    """Units of an open PO line that may be promised: the buffer holds back a share of it."""
    return max(0, math.floor(remaining * (1 - incoming_buffer)))


@dataclass(frozen=True, slots=True)
class ChannelRule:
    name: str
    allow_backorder: bool = False
    allow_preorder: bool = False
    padding_days: int = 0
    locations: tuple[str, ...] = ()  # where it may ship from, preferred first; () = every location
    split: Split = Split.ALLOW


@dataclass(frozen=True, slots=True)
class SkuRule:
    mode: Mode = Mode.BACKORDER
    release_date: date | None = None
    handling_days: int = 0
    allocation: Allocation = Allocation.FIFO

    def released(self, today: date) -> bool:
        return self.mode is not Mode.PREORDER or self.release_date is None or self.release_date <= today

    def may_use(self, channel: ChannelRule, source: Source, today: date) -> bool:
        """Whether a channel may sell or promise units from a bucket of this source."""
        if self.mode is Mode.PREORDER:
            if not channel.allow_preorder and not self.released(today):
                return False
            return source is Source.STOCK or channel.allow_preorder
        if self.mode is Mode.BACKORDER:
            return source is Source.STOCK or channel.allow_backorder
        return source is Source.STOCK


@dataclass(frozen=True, slots=True)
class Demand:
    """A line in the queue: an active hold or the open units of an order line."""

    key: str
    qty: int
    channel: str
    priority: int = 0
    queued_at: datetime = datetime(2000, 1, 1)
    seq: int = 0
    shipped: int = 0  # units of the order line already shipped: fair_share counts them toward its share


def queue_order(line: Demand) -> tuple[int, datetime, int]:
    """The one queue order: priority first, then first come, then arrival sequence."""
    return (-line.priority, line.queued_at, line.seq)


@dataclass(frozen=True, slots=True)
class Take:
    bucket: str
    qty: int


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one queue line's units come from, and what the customer is told."""

    takes: tuple[Take, ...]
    state: State
    promise_date: date | None

    @property
    def covered(self) -> int:
        return sum(t.qty for t in self.takes)


@dataclass(frozen=True, slots=True)
class Supply:
    """Everything the plan needs besides the queue: buckets and the rules that govern them."""

    sku: SkuRule
    buckets: tuple[Bucket, ...]
    channels: dict[str, ChannelRule] = field(default_factory=dict)
    locations: tuple[str, ...] = (MAIN,)  # every location, `main` first
    handling: dict[str, int] = field(default_factory=dict)  # a location's handling days (default 0)
    by_key: dict[str, Bucket] = field(init=False, repr=False, compare=False)
    _ordered: dict[tuple[str, ...], tuple[Bucket, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rank = {loc: i for i, loc in enumerate(self.locations)}
        object.__setattr__(self, "buckets", tuple(sorted(
            self.buckets, key=lambda b: bucket_order(b, rank.get(b.location, len(rank))))))
        object.__setattr__(self, "by_key", {b.key: b for b in self.buckets})
        object.__setattr__(self, "_ordered", {})

    def channel(self, name: str) -> ChannelRule:
        # An unknown channel may sell on-hand stock only: the conservative default.
        return self.channels.get(name) or ChannelRule(name)

    def ships_from(self, rule: ChannelRule) -> tuple[str, ...]:
        """The channel's locations, preferred first (every location when it names none)."""
        return tuple(loc for loc in rule.locations if loc in self.locations) if rule.locations else self.locations

    def ordered_for(self, rule: ChannelRule) -> tuple[Bucket, ...]:
        """The buckets at the channel's locations, in the order the channel uses them."""
        places = self.ships_from(rule)
        found = self._ordered.get(places)
        if found is None:
            if places == self.locations:
                found = self.buckets  # already in this order
            else:
                rank = {loc: i for i, loc in enumerate(places)}
                found = tuple(sorted((b for b in self.buckets if b.location in rank),
                                     key=lambda b: bucket_order(b, rank[b.location])))
            self._ordered[places] = found
        return found
