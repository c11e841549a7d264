"""The merchant's calendar: which day a moment falls on where the merchant trades.

Timestamps are UTC everywhere; dates (today, release days, promises) are days of the merchant's
calendar, in one IANA time zone per installation (BRIEF §5). Standard library only.
"""
from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"


class UnknownZone(ValueError):
    """A time zone name the IANA database does not know."""


def zone_named(name: str) -> ZoneInfo:
    """The zone called `name`, or UnknownZone with a message that says what is expected."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(f"ALLOT_TIMEZONE={name!r} is not a time zone: use an IANA name such as "
                          "America/Los_Angeles, Europe/Paris or UTC") from None


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The merchant's date at `moment` (an aware datetime; naive ones are UTC, as SQLite hands them back)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment the merchant's `day` begins (its midnight; the first valid minute across a gap)."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    # A zone may skip midnight (a daylight-saving jump at 00:00): round-trip through UTC lands after the gap.
    return local.astimezone(UTC).astimezone(zone).astimezone(UTC)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment the merchant's `day` ends: the next day's midnight."""
    return day_start(day + timedelta(days=1), zone)


def fixed_offsets(lo: datetime, hi: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over [lo, hi): (from this moment on, offset in seconds), in order.

    The first entry starts at `lo`; each further one at a change of offset (daylight saving, a new
    rule). Within one entry the merchant's date of a moment t is the date of t + offset, which a
    database computes without knowing the zone. Changes are found by comparing the offset every 12
    hours and bisecting to the second (zones do not change twice within half a day).
    """
    start, stop = math.floor(_seconds(lo)), math.ceil(_seconds(hi))  # offsets change on whole seconds
    found = [(lo if lo.tzinfo else lo.replace(tzinfo=UTC), _offset(start, zone))]
    t = start
    while t < stop:
        nxt = min(t + _STEP, stop)
        if _offset(nxt, zone) != found[-1][1]:
            a, b = t, nxt  # the offset at a is the last found, at b the next: the change lies in (a, b]
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if _offset(mid, zone) == found[-1][1] else (a, mid)
            if b < stop:
                found.append((_moment(b), _offset(b, zone)))
        t = nxt
    return found


_STEP = 12 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(moment: datetime) -> float:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH).total_seconds()


def _moment(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _offset(seconds: int, zone: ZoneInfo) -> int:
    offset = _moment(seconds).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
