"""Request and response bodies of the v1 contract (BRIEF §5). Unknown fields are refused."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"
EVENT_TYPE_PATTERN = r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$"  # a type (`order_line.promise_changed`) or a family (`order_line.*`)
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Qty = Annotated[int, Field(gt=0, le=1_000_000)]
Days = Annotated[int, Field(ge=0, le=3650)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
LineNo = Annotated[int, Field(ge=1, le=1_000_000)]
# Far enough for any real plan, near enough that date + lead days + padding never leaves the calendar.
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]
HOLD_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,40}$"


def storable(text: str) -> str:
    """Free text every database can keep: no NUL, no lone surrogates."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


Storable = AfterValidator(storable)
NO_NUL = r"^[^\x00]*$"
Note = Annotated[str, Field(max_length=200, pattern=NO_NUL), Storable]  # free text: names, suppliers, customers
Reason = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL), Storable]
KeyName = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL), Storable]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SkuIn(Body):
    mode: Literal["stock", "backorder", "preorder"]
    name: Note | None = None
    release_date: Day | None = None
    handling_days: Days = 0
    incoming_buffer: Annotated[Decimal, Field(ge=0, lt=1, max_digits=5, decimal_places=4)] = Decimal(0)
    safety_stock: Count = 0
    backorder_limit: Count | None = None
    backorder_lead_days: Days | None = None
    allocation_policy: Literal["fifo", "fair_share"] = Field(
        default="fifo", description="fifo: first come, first served; fair_share: a shortage is split in "
                                    "proportion to open quantity (wholesale lines)")
    per_customer_limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(  # drops (migration 0014)
        default=None, description="units one customer may have over active holds and open or shipped lines")
    offer_ttl_seconds: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] | None = Field(  # drops
        default=None, description="how long a waitlist offer's hold lasts (default one day)")


class SkuOut(BaseModel):
    sku: str
    name: str | None
    mode: str
    release_date: date | None
    handling_days: int
    incoming_buffer: float
    safety_stock: int
    backorder_limit: int | None
    backorder_lead_days: int | None
    allocation_policy: str
    on_hand: int
    per_customer_limit: int | None = None  # drops (migration 0014)
    offer_ttl_seconds: int | None = None  # drops (migration 0014)


class ChannelIn(Body):
    allow_backorder: bool
    allow_preorder: bool
    padding_days: Days = 0
    locations: list[Name] | None = Field(  # locations (migration 0010)
        default=None, min_length=1, max_length=100,
        description="where it may ship from, preferred first; null: every location, main first")
    split: Literal["allow", "avoid"] = Field(  # locations (migration 0010)
        default="allow", description="avoid: a line takes all its units from one location whenever one can cover it")
    consent_after_days: Days | None = Field(
        default=None, description="ask the customer once a promise slips more than this many days past the "
                                  "first promise (or the line is backordered); null: never ask")
    consent_window_days: Annotated[int, Field(ge=0, le=365)] = Field(
        default=7, description="days the customer has to answer: until the merchant's midnight ending the "
                               "day this many days after the request (0: the end of that same day)")
    consent_default: Literal["cancel", "keep"] = Field(
        default="keep", description="what happens to the line when the customer does not answer in time")


class ChannelOut(ChannelIn):
    channel: str


class QuotaIn(Body):
    quota: Count | None = None
    opens_at: AwareDatetime | None = Field(default=None, description="drops: no sale on the channel before this")
    closes_at: AwareDatetime | None = Field(default=None, description="drops: nor from this moment on")


class QuotaOut(BaseModel):
    sku: str
    channel: str
    quota: int | None
    opens_at: datetime | None = None  # drops (migration 0014)
    closes_at: datetime | None = None  # drops (migration 0014)


class AdjustmentIn(Body):
    sku: Name
    delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Reason
    location: Name = "main"  # locations (migration 0010)


class CountIn(Body):
    sku: Name
    on_hand: Annotated[int, Field(ge=0, le=10_000_000)]
    reason: Reason = "count"
    location: Name = "main"  # locations (migration 0010)


class StockOut(BaseModel):
    sku: str
    delta: int
    reason: str
    on_hand: int


class PoLineIn(Body):
    sku: Name
    qty: Qty
    expected_date: Day


class PoIn(Body):
    ref: Name
    supplier: Note | None = None
    location: Name = "main"  # locations (migration 0010): where it delivers
    lines: list[PoLineIn] = Field(min_length=1, max_length=1000)


class PoLinePatch(Body):
    expected_date: Day | None = None
    qty: Count | None = None

    @model_validator(mode="after")
    def _something(self) -> PoLinePatch:
        if self.expected_date is None and self.qty is None:
            raise ValueError("give expected_date or qty")
        return self


class ReceiptLineIn(Body):
    line: LineNo
    qty: Qty


class ReceiptIn(Body):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)
    close_short: bool = False


class PoLineOut(BaseModel):
    line: int
    sku: str
    qty: int
    received: int
    closed: bool
    remaining: int
    expected_date: date


class PoOut(BaseModel):
    ref: str
    supplier: str | None
    status: str
    created_at: datetime
    lines: list[PoLineOut]
    location: str = "main"  # locations (migration 0010)


class HoldIn(Body):
    sku: Name
    qty: Qty
    channel: Name
    ttl_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None = None
    customer: Note | None = Field(default=None, description="required for a SKU with a per_customer_limit")  # drops


class HoldOut(BaseModel):
    id: str
    sku: str | None
    channel: str
    qty: int
    status: str
    expires_at: datetime
    state: str
    promise_date: date | None
    customer: str | None = None  # drops (migration 0014)


class OrderLineIn(Body):
    sku: Name
    qty: Qty
    hold_id: Annotated[str, Field(pattern=HOLD_ID_PATTERN)] | None = None
    unit_price: Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=2)] | None = None  # docs/customers.md


class PaymentIn(Body):
    """Payment terms (docs/customers.md): Allot says when to charge; it never touches card data."""

    terms: Literal["paid", "deposit", "on_ready"] = "paid"
    deposit: Annotated[Decimal, Field(gt=0, le=10**9, decimal_places=2)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] | None = None


class OrderIn(Body):
    ref: Name
    channel: Name
    priority: Annotated[int, Field(ge=0, le=1000)] = 0
    customer: Note | None = None
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")] | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    payment: PaymentIn | None = None


def _absent(value: object) -> bool:
    return value is None


class AllocationOut(BaseModel):
    source: Literal["stock", "po", "made_to_order", "transfer"]
    qty: int
    date: date | None
    po_ref: str | None = None
    po_line: int | None = None
    # locations (migration 0010): where these units are or arrive; the transfer for source "transfer".
    # Left out when null, so with only `main` an entry is what it was before locations. Per field: a wrap
    # serializer's `dict` return type was the schema, an untyped object for generated clients.
    location: str | None = Field(default=None, exclude_if=_absent)
    transfer_ref: str | None = Field(default=None, exclude_if=_absent)


class OrderLineOut(BaseModel):
    line: int
    sku: str
    qty: int
    qty_shipped: int
    qty_cancelled: int
    state: str
    promise_date: date | None
    first_promise_date: date | None
    hold_id: str | None
    allocation: list[AllocationOut]
    consent_status: Literal["needs_consent", "accepted", "rejected", "expired", "kept", "withdrawn"] | None = None
    consent_deadline: datetime | None = None


class IgnoredLineOut(BaseModel):
    external_id: str | None
    sku: str | None
    name: str | None
    qty: int
    reason: str


class OrderOut(BaseModel):
    ref: str
    channel: str
    priority: int
    customer: str | None
    email: str | None = None
    created_at: datetime
    lines: list[OrderLineOut]
    ignored_lines: list[IgnoredLineOut] | None = Field(
        default=None, description="a shop's lines Allot does not plan (no SKU, or a SKU it does not manage)")


class LineRef(Body):
    line: LineNo
    qty: Qty | None = None


class CancelIn(Body):
    lines: list[LineRef] | None = Field(default=None, min_length=1, max_length=500)


class ConsentIn(Body):
    accept: bool = Field(description="true: keep waiting for the new date; false: cancel the line")


class ShipLine(Body):
    line: LineNo
    qty: Qty
    location: Name | None = None  # locations (migration 0010); default: where the line's ready units are


class ShipmentIn(Body):
    lines: list[ShipLine] = Field(min_length=1, max_length=500)


class Point(BaseModel):
    date: date
    available: int


class LocationNumbers(BaseModel):
    location: str
    on_hand: int
    incoming: int
    committed: int = Field(description="units of open order lines allocated at this location")
    reserved: int = Field(description="units of active holds allocated at this location")
    available: int = Field(description="free units at this location the channel may use (uncovered units "
                                       "are not counted against any one location)")


class AvailabilityOut(BaseModel):
    sku: str
    channel: str | None
    on_hand: int
    incoming: int
    committed: int
    reserved: int
    available: int
    next_promise_date: date | None
    timeline: list[Point]
    oversold: bool
    quota_left: int | None
    locations: list[LocationNumbers] = []  # locations (migration 0010)
    opens_at: datetime | None = None  # drops (migration 0014): the channel's window
    closes_at: datetime | None = None  # drops (migration 0014)


class EventOut(BaseModel):
    id: int
    type: str
    version: int
    occurred_at: datetime
    sku: str | None
    order_ref: str | None
    line: int | None
    data: dict[str, object]


class EventPage(BaseModel):
    events: list[EventOut]
    next: int


Role = Literal["admin", "ops", "storefront", "viewer"]
AuditRole = Literal["admin", "ops", "storefront", "viewer", "cli"]  # cli: the command line, with no key


class KeyIn(Body):
    name: KeyName
    role: Role
    channels: list[Name] | None = Field(default=None, max_length=100, description="storefront keys only: "
                                        "the channels it may sell and look on (required for them)")
    max_hold_ttl_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None = Field(
        default=None, description="storefront keys only: the longest hold it may place (default: the "
                                  "installation's, 30 min)")
    max_held_units: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = Field(
        default=None, description="storefront keys only: units its active holds may keep at once (default 500)")
    rate_per_second: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(  # drops (migration 0014)
        default=None, description="holds and orders it may place per second, across every process and host "
                                  "(past it: 429 with Retry-After); null: no limit")


class KeyOut(BaseModel):
    id: int
    name: str
    role: Role
    channels: list[str] | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    max_hold_ttl_seconds: int | None = None
    max_held_units: int | None = None
    rate_per_second: int | None = None  # drops (migration 0014)


class KeyCreated(BaseModel):
    id: int
    name: str
    role: Role
    channels: list[str] | None
    max_hold_ttl_seconds: int | None = None
    max_held_units: int | None = None
    rate_per_second: int | None = None  # drops (migration 0014)
    secret: str = Field(description="shown here once and never again: only its SHA-256 digest is stored")


class AuditEntry(BaseModel):
    id: int
    occurred_at: datetime
    request_id: str
    key_id: int | None
    key_name: str
    role: str
    method: str
    path: str
    action: str
    status: int
    summary: dict[str, object]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next: int


class Problem(BaseModel):
    """RFC 9457 problem details; `code` is stable, and some problems add fields (`field`, `available`)."""

    model_config = ConfigDict(extra="allow")
    type: str
    code: str
    title: str
    status: int
    detail: str


class WebhookIn(Body):
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://[\x21-\x7e]+$")]
    events: list[Annotated[str, Field(max_length=100, pattern=r"^[a-z_.*]+$")]] | None = Field(default=None, min_length=1, max_length=50,
                                     description="event types or families (`order_line.*`); omit for every event")
    secret: Annotated[str, Storable] | None = Field(default=None, min_length=16, max_length=200,
                               description="signing secret; one is generated when omitted")
    max_attempts: Annotated[int, Field(ge=1, le=50)] | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str] | None
    max_attempts: int
    secret_prefix: str
    created_at: datetime
    secret: str | None = Field(default=None, description="only in the answer that created the webhook")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    event_type: str
    status: Literal["pending", "sending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next: int


class RequeuedOut(BaseModel):
    webhook_id: int
    requeued: int


class BackorderedLine(BaseModel):
    position: int = Field(description="place in the SKU's queue, 1 = first (active holds count too)")
    order_ref: str
    line: int
    channel: str
    customer: str | None
    priority: int
    queued_at: datetime
    open_qty: int
    covered: int
    uncovered: int
    consent_status: str | None
    consent_deadline: datetime | None


class BackorderedOut(BaseModel):
    sku: str
    allocation_policy: str
    uncovered: int
    queue_length: int
    lines: list[BackorderedLine]


class OrderLineRef(Body):
    order_ref: Name
    line: Annotated[int, Field(ge=1)]


class BackorderCancelIn(Body):
    reason: Annotated[str, Storable] = Field(min_length=1, max_length=200)
    lines: list[OrderLineRef] | None = Field(default=None, min_length=1, max_length=1000,
                                             description="omit for every backordered line of the SKU")
    whole_line: bool = Field(default=False, description="cancel the whole line, not only its uncovered units")


class BackorderKeepIn(Body):
    reason: Annotated[str, Storable] = Field(default="keep waiting", min_length=1, max_length=200)
    lines: list[OrderLineRef] | None = Field(default=None, min_length=1, max_length=1000,
                                             description="omit for every backordered line of the SKU")

