"""The editorial calendar: dated pieces in two lanes, the unscheduled backlog, and rescheduling.

Every piece with a due date is an item in the "due" lane (the writer's deadline) and every piece
with a publish date an item in the "publish" lane (the readers' date), so one piece may appear
twice. Days are calendar days in the site's time zone; a moment at local midnight (a date given
without a time) is an all-day item, any other moment a timed one. The JSON calendar, the ICS feed
and the dashboard are all built from `calendar()`, so they show the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from editorial import clock, workflow
from editorial.cadence import Cadence, cadence
from editorial.models import DIMENSIONS, Piece, Role, Status, User
from editorial.pieces import tagged, terms_of
from editorial.settings import Settings
from editorial.taxonomy import Taxonomy, current_taxonomy

LANES = ("due", "publish")
LANE_FIELDS = {"due": "due_at", "publish": "publish_at"}
FILTERS = (*DIMENSIONS, "status", "assignee")
BACKLOG_STATUSES = (Status.IDEA, Status.PLANNED)
DEFAULT_PAST = timedelta(days=90)
DEFAULT_AHEAD = timedelta(days=365)
MAX_DAYS = 1100  # about three years: enough for any view, small enough to answer quickly


class CalendarError(ValueError):
    """A calendar request that cannot be answered; the message names the field and the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Site:
    """What the calendar needs to know about the site: its terms, time zone and address."""

    taxonomy: Taxonomy
    tz: ZoneInfo
    host: str = "editorial"  # the domain part of event UIDs
    link: str = ""  # the dashboard calendar's full URL

    @classmethod
    def of(cls, settings: Settings) -> Site:
        """The site as the settings describe it; an unknown time zone is an error."""
        try:
            tz = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(
                "EDITORIAL_TIMEZONE", f"unknown time zone {settings.timezone!r}; try Europe/Paris"
            ) from None
        taxonomy = current_taxonomy(Path(settings.content_dir) / "taxonomy.yaml")
        base = settings.base_url if settings.base_url.endswith("/") else settings.base_url + "/"
        host = urlsplit(base).hostname or "editorial"
        return cls(taxonomy, tz, host, base + "editor/calendar")


@dataclass(frozen=True)
class Viewer:
    """Whose calendar: editors (and the command line) see every piece, a contributor the pieces
    assigned to them, and nobody else anything."""

    sees_all: bool = False
    email: str | None = None

    @classmethod
    def of(cls, user: User | None) -> Viewer:
        if user is None or not user.active:
            return cls()
        return cls(sees_all=user.role == Role.EDITOR, email=user.email)

    @property
    def sees_nothing(self) -> bool:
        return not self.sees_all and self.email is None


EVERYONE = Viewer(sees_all=True)


@dataclass(frozen=True)
class CalendarQuery:
    """A date range (inclusive, in the site's time zone) and filters; each filter takes one value."""

    start: date
    end: date
    audience: str | None = None
    stage: str | None = None
    topic: str | None = None
    format: str | None = None
    status: str | None = None
    assignee: str | None = None

    def terms(self) -> dict[str, str]:
        """The dimension filters that are set."""
        return {d: value for d in DIMENSIONS if (value := getattr(self, d))}


@dataclass(frozen=True)
class Entry:
    """A piece as the calendar shows it, dated or not."""

    slug: str
    title: str
    status: str
    assignee: str | None
    terms: dict[str, list[str]]
    version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "status": self.status,
            "assignee": self.assignee,
            "terms": self.terms,
            "version": self.version,
        }


@dataclass(frozen=True)
class Item:
    """One dated entry in one lane; `uid` is stable for the life of the piece."""

    uid: str
    entry: Entry
    lane: str
    at: datetime  # the stored moment, aware UTC
    day: date  # its calendar day in the site's time zone
    all_day: bool

    def as_json(self) -> dict[str, Any]:
        return self.entry.as_json() | {
            "uid": self.uid,
            "lane": self.lane,
            "date": self.day.isoformat(),
            "at": self.at.isoformat(),
            "all_day": self.all_day,
        }


@dataclass
class Calendar:
    """The items in a range, the undated backlog, and (for editors) the cadence flags."""

    query: CalendarQuery
    timezone: str
    generated_at: datetime
    items: list[Item] = field(default_factory=list)
    backlog: list[Entry] = field(default_factory=list)
    cadence: Cadence | None = None
    _by_day: dict[tuple[date, str], list[Item]] | None = field(default=None, init=False, repr=False)

    def on(self, day: date, lane: str) -> list[Item]:
        """The items of one lane on one day."""
        if self._by_day is None:
            self._by_day = {}
            for item in self.items:
                self._by_day.setdefault((item.day, item.lane), []).append(item)
        return self._by_day.get((day, lane), [])

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.query.start.isoformat(),
            "to": self.query.end.isoformat(),
            "timezone": self.timezone,
            "generated_at": self.generated_at.isoformat(),
            "filters": {k: v for k, v in _filters(self.query).items() if v},
            "items": [item.as_json() for item in self.items],
            "backlog": [entry.as_json() for entry in self.backlog],
            "cadence": self.cadence.as_json() if self.cadence else None,
        }


def _filters(query: CalendarQuery) -> dict[str, str | None]:
    return {"status": query.status, "assignee": query.assignee, **query.terms()}


def make_query(
    site: Site,
    start: date | None = None,
    end: date | None = None,
    **filters: str | None,
) -> CalendarQuery:
    """A checked query; the range defaults to 90 days back and a year ahead of today."""
    today = clock.now().astimezone(site.tz).date()
    start = start or today - DEFAULT_PAST
    end = end or max(start, today) + DEFAULT_AHEAD
    if end < start:
        raise CalendarError("to", f"{end} is before the start {start}; give a later end date")
    if (end - start).days > MAX_DAYS:
        raise CalendarError("to", f"the range is longer than {MAX_DAYS} days; ask for less")
    cleaned = {name: (value or "").strip() or None for name, value in filters.items()}
    _check_filters(site.taxonomy, cleaned)
    return CalendarQuery(start, end, **cleaned)


def _check_filters(taxonomy: Taxonomy, filters: dict[str, str | None]) -> None:
    status = filters.get("status")
    if status and status not in set(Status):
        allowed = ", ".join(Status)
        raise CalendarError("status", f"unknown status '{status}'; use one of {allowed}")
    for dimension in DIMENSIONS:
        value = filters.get(dimension)
        if value and taxonomy.term(dimension, value) is None:
            closest = taxonomy.closest(dimension, value)
            hint = f"; did you mean '{closest}'?" if closest else ""
            raise CalendarError(dimension, f"unknown {dimension} '{value}'{hint}")


def parse_day(value: str, field_name: str) -> date:
    """A YYYY-MM-DD date from a person, or an error naming the field."""
    try:
        return clock.in_range(date.fromisoformat(value.strip()))
    except clock.OutOfRange as exc:
        raise CalendarError(field_name, str(exc)) from None
    except ValueError:
        raise CalendarError(
            field_name, f"'{value}' is not a date; write it as YYYY-MM-DD"
        ) from None


def calendar(session: Session, site: Site, query: CalendarQuery, viewer: Viewer) -> Calendar:
    """Everything the calendar shows for `viewer`: items in range, backlog, cadence flags."""
    now = clock.now()
    result = Calendar(query, site.tz.key, now)
    if viewer.sees_nothing:
        return result
    low, high = local_bounds(query.start, query.end, site.tz)
    shown = [_dated(low, high)]
    if not query.status or query.status in BACKLOG_STATUSES:
        shown.append(_undated())
    # One query for both: the dated and the undated pieces are never the same ones.
    statement = select(Piece).where(*_conditions(query, viewer, now), or_(*shown))
    pieces = list(session.exec(statement))
    terms = terms_of(session, [p.id for p in pieces if p.id is not None])
    result.items = dated_items(pieces, terms, low, high, site, now)
    result.backlog = backlog(pieces, terms, now)
    if viewer.sees_all:
        result.cadence = cadence(session, site.taxonomy, query.terms(), site.tz, now)
    return result


def local_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC moments where local day `start` begins and local day `end` ends (exclusive)."""
    first = datetime.combine(start, time(), tz)
    after = datetime.combine(end + timedelta(days=1), time(), tz)
    return clock.to_utc(first), clock.to_utc(after)


def _dated(low: datetime, high: datetime) -> ColumnElement[bool]:
    """A due or publish date in [low, high)."""
    fields = [col(getattr(Piece, name)) for name in LANE_FIELDS.values()]
    return or_(*(and_(field >= low, field < high) for field in fields))


def _undated() -> ColumnElement[bool]:
    """An idea or planned piece with neither a due nor a publish date: the backlog."""
    return and_(
        col(Piece.status).in_(BACKLOG_STATUSES),
        col(Piece.due_at).is_(None),
        col(Piece.publish_at).is_(None),
    )


def dated_items(
    pieces: list[Piece],
    terms: dict[int, dict[str, list[str]]],
    low: datetime,
    high: datetime,
    site: Site,
    now: datetime,
) -> list[Item]:
    """Every due and publish item in [low, high), by moment, then lane, then slug."""
    items = []
    for piece in pieces:
        entry = _entry(piece, terms, now)
        for lane, name in LANE_FIELDS.items():
            value = getattr(piece, name)
            if value is not None and low <= clock.to_utc(value) < high:
                items.append(_item(entry, lane, clock.to_utc(value), site))
    return sorted(items, key=lambda i: (i.at, LANES.index(i.lane), i.entry.slug))


def backlog(
    pieces: list[Piece], terms: dict[int, dict[str, list[str]]], now: datetime
) -> list[Entry]:
    """The undated ideas and planned pieces among `pieces`, newest first, then by slug."""
    undated = [
        piece
        for piece in pieces
        if piece.status in BACKLOG_STATUSES and piece.due_at is None and piece.publish_at is None
    ]
    undated.sort(key=lambda piece: piece.slug)
    undated.sort(key=lambda piece: clock.to_utc(piece.created_at), reverse=True)
    return [_entry(piece, terms, now) for piece in undated]


def _conditions(query: CalendarQuery, viewer: Viewer, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [col(Piece.missing_since).is_(None)]
    if not viewer.sees_all:
        conditions.append(col(Piece.assignee) == viewer.email)  # the workflow's rule
    if query.assignee:
        conditions.append(func.lower(col(Piece.assignee)) == query.assignee.lower())
    if query.status:
        conditions.append(status_is(query.status, now))
    for dimension, term in query.terms().items():
        conditions.append(col(Piece.id).in_(tagged(dimension, term)))
    return conditions


def status_is(status: str, now: datetime) -> ColumnElement[bool]:
    """SQL for "shows as `status` now": a scheduled piece whose moment has passed is published."""
    passed = and_(col(Piece.status) == Status.SCHEDULED, col(Piece.publish_at) <= now)
    if status == Status.PUBLISHED:
        return or_(col(Piece.status) == Status.PUBLISHED, passed)
    if status == Status.SCHEDULED:
        return and_(col(Piece.status) == Status.SCHEDULED, ~passed)
    return col(Piece.status) == status


def shown_status(piece: Piece, now: datetime) -> str:
    """The status a person sees: scheduled becomes published once its moment passes."""
    moment = piece.publish_at
    if piece.status == Status.SCHEDULED and moment is not None and clock.to_utc(moment) <= now:
        return Status.PUBLISHED
    return piece.status


def _entry(piece: Piece, terms: dict[int, dict[str, list[str]]], now: datetime) -> Entry:
    assert piece.id is not None
    status = shown_status(piece, now)
    return Entry(
        piece.slug, piece.title, status, piece.assignee, terms.get(piece.id, {}), piece.version
    )


def _item(entry: Entry, lane: str, at: datetime, site: Site) -> Item:
    local = at.astimezone(site.tz)
    all_day = local.time() == time()
    # by slug, not row id: a store rebuilt from the files keeps its subscribers' events
    return Item(f"{entry.slug}.{lane}@{site.host}", entry, lane, at, local.date(), all_day)


def moved_moment(current: datetime | None, day: date, tz: ZoneInfo) -> datetime:
    """The moment on `day` that keeps `current`'s local time of day (midnight when undated)."""
    local_time = clock.to_utc(current).astimezone(tz).time() if current else time()
    return clock.to_utc(datetime.combine(day, local_time, tz))


def reschedule(
    session: Session,
    user: User | None,
    site: Site,
    slug: str,
    lane: str,
    day: date,
    base_version: int,
    origin: str,
) -> Piece:
    """Move one lane's date of a piece to `day` through the workflow (so a revision records it
    and a stale `base_version` raises workflow.Conflict); the local time of day is kept."""
    if lane not in LANE_FIELDS:
        raise workflow.InvalidInput({"lane": f"'{lane}' is not a lane; use due or publish"})
    try:
        clock.in_range(day)
    except clock.OutOfRange as exc:
        raise workflow.InvalidInput({"date": str(exc)}) from None
    name = LANE_FIELDS[lane]
    piece = workflow.load(session, user, slug)
    moment = moved_moment(getattr(piece, name), day, site.tz)
    return workflow.update_piece(session, user, slug, {name: moment}, base_version, origin)
