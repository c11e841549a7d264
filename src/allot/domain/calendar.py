"""The merchant's calendar: which day a moment falls on where the merchant trades.

Timestamps are UTC everywhere; dates (today, release days, promises) are days of the merchant's
calendar, in one IANA time zone per installation (BRIEF §5). Standard library only.
"""
from __future__ import annotations

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
