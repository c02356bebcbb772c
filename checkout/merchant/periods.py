"""Calendar days and hours as the shop reads them (Almaty), turned into UTC instants for queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..i18n import DISPLAY_TIMEZONE

ZONE = ZoneInfo(DISPLAY_TIMEZONE)
# Dates a filter may name: wide enough for any real order, narrow enough that converting one to
# UTC never leaves the range datetime can hold.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def day_start(day: date) -> datetime:
    """The UTC instant an Almaty calendar day begins."""
    return datetime.combine(day, time(), ZONE).astimezone(UTC)


def local_date(instant: datetime) -> date:
    """The Almaty calendar day of a UTC instant."""
    return instant.astimezone(ZONE).date()


def local_hour(instant: datetime) -> datetime:
    """The Almaty hour an instant falls in, as an aware datetime on Almaty time."""
    return instant.astimezone(ZONE).replace(minute=0, second=0, microsecond=0)


def days_back(today: date, count: int) -> list[date]:
    """The `count` days ending with `today`, oldest first."""
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


def local_iso(instant: datetime | None) -> str:
    """An instant on Almaty time in ISO 8601 with its offset, seconds precision; "" for none."""
    return instant.astimezone(ZONE).isoformat(timespec="seconds") if instant else ""
