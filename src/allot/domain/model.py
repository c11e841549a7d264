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


def bucket_order(bucket: Bucket) -> tuple[int, date, int, int]:
    """The one order in which buckets are used: on hand, then POs by date, then made to order."""
    rank = {Source.STOCK: 0, Source.PO: 1, Source.MADE_TO_ORDER: 2}[bucket.source]
    return (rank, bucket.date, bucket.po_seq, bucket.po_line or 0)


def po_capacity(remaining: int, incoming_buffer: Decimal) -> int:
    """Units of an open PO line that may be promised: the buffer holds back a share of it."""
    return max(0, math.floor(remaining * (1 - incoming_buffer)))


@dataclass(frozen=True, slots=True)
class ChannelRule:
    name: str
    allow_backorder: bool = False
    allow_preorder: bool = False
    padding_days: int = 0


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
    by_key: dict[str, Bucket] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", tuple(sorted(self.buckets, key=bucket_order)))
        object.__setattr__(self, "by_key", {b.key: b for b in self.buckets})

    def channel(self, name: str) -> ChannelRule:
        # An unknown channel may sell on-hand stock only: the conservative default.
        return self.channels.get(name) or ChannelRule(name)
