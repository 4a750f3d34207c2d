"""The one clock: aware UTC datetimes everywhere, replaceable in tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TypeVar


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


# The years a person may give a date in: any a piece could mean, with room for a year of date
# arithmetic either side (Python's dates end at 9999-12-31, and a time zone can cross that).
FIRST_YEAR, LAST_YEAR = 1000, 9998


D = TypeVar("D", date, datetime)


class OutOfRange(ValueError):
    """A date Editorial cannot work with, though it is a date."""


def given_moment(value: datetime | date | str) -> datetime:
    """A moment a person wrote (ISO 8601 text, a date or a datetime) as aware UTC. Raises
    ValueError for text that is no date, OutOfRange for a year outside FIRST_YEAR-LAST_YEAR."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    return to_utc(in_range(value))


def in_range(value: D) -> D:
    """`value`, if its year is one a person may give (OutOfRange if not)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise OutOfRange(
            f"{value.isoformat()} is out of range; give a year from {FIRST_YEAR} to {LAST_YEAR}"
        )
    return value
