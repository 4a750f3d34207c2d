"""The one clock: aware UTC datetimes everywhere, replaceable in tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def now() -> datetime:
    """The current moment in UTC."""
    return datetime.now(UTC)


def to_utc(value: datetime | date) -> datetime:
    """A date or datetime as aware UTC; a bare date or a zone-less time is read as UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
