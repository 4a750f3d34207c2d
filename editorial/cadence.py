"""Cadence flags for the calendar, from the taxonomy's targets:

- weeks of the planning horizon (this week and the weeks after it, `horizon_weeks` in all) in which no
  piece is due to come out: nothing published, scheduled, or planned with a publish date;
- topics with no publication in the last `topic_cadence_weeks` weeks (0 turns this off), with
  the next one on the calendar, if any. Topics whose target is 0 are not wanted and not flagged.

Weeks start on Monday in the site's time zone. Dimension filters narrow both flags (with
`audience=cio`, a quiet week is one with nothing for CIOs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from editorial import clock
from editorial.models import Piece, PieceTerm, Status
from editorial.pieces import public_filter, tagged
from editorial.taxonomy import Taxonomy

NOT_COMING = (Status.IDEA, Status.ARCHIVED)


@dataclass(frozen=True)
class Week:
    """One week of the horizon and how many pieces come out in it."""

    start: date  # its Monday
    publications: int
    capacity: int  # the taxonomy's pieces_per_week

    @property
    def empty(self) -> bool:
        return self.publications == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "week": self.start.isoformat(),
            "publications": self.publications,
            "capacity": self.capacity,
            "empty": self.empty,
        }


@dataclass(frozen=True)
class QuietTopic:
    """A topic readers have heard nothing about for too long."""

    topic: str
    label: str
    last_published: date | None
    next_planned: date | None

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "label": self.label,
            "last_published": self.last_published.isoformat() if self.last_published else None,
            "next_planned": self.next_planned.isoformat() if self.next_planned else None,
        }


@dataclass
class Cadence:
    """The weeks of the horizon with their load, and the topics gone quiet."""

    horizon_weeks: int
    pieces_per_week: int
    topic_cadence_weeks: int
    weeks: list[Week] = field(default_factory=list)
    quiet_topics: list[QuietTopic] = field(default_factory=list)

    @property
    def quiet_weeks(self) -> list[Week]:
        """The weeks with no publication."""
        return [week for week in self.weeks if week.empty]

    def as_json(self) -> dict[str, Any]:
        return {
            "horizon_weeks": self.horizon_weeks,
            "pieces_per_week": self.pieces_per_week,
            "topic_cadence_weeks": self.topic_cadence_weeks,
            "weeks": [week.as_json() for week in self.weeks],
            "quiet_weeks": [week.start.isoformat() for week in self.quiet_weeks],
            "quiet_topics": [topic.as_json() for topic in self.quiet_topics],
        }


def cadence(
    session: Session, taxonomy: Taxonomy, terms: dict[str, str], tz: ZoneInfo, now: datetime
) -> Cadence:
    """Both cadence flags at `now`, narrowed by the dimension filters in `terms`."""
    targets = taxonomy.targets
    return Cadence(
        targets.horizon_weeks,
        targets.pieces_per_week,
        targets.topic_cadence_weeks,
        week_load(session, terms, tz, now, targets.horizon_weeks, targets.pieces_per_week),
        quiet_topics(session, taxonomy, terms, tz, now),
    )


def _narrowed(terms: dict[str, str]) -> list[ColumnElement[bool]]:
    conditions = [col(Piece.missing_since).is_(None)]
    conditions += [col(Piece.id).in_(tagged(d, t)) for d, t in terms.items()]
    return conditions


def _coming() -> ColumnElement[bool]:
    return col(Piece.status).not_in(NOT_COMING)


def week_load(
    session: Session,
    terms: dict[str, str],
    tz: ZoneInfo,
    now: datetime,
    weeks: int,
    capacity: int,
) -> list[Week]:
    """Publications in each week of the horizon, counted by publish date."""
    today = now.astimezone(tz).date()
    mondays = [today - timedelta(days=today.weekday()) + timedelta(weeks=n) for n in range(weeks)]
    low = clock.to_utc(datetime.combine(mondays[0], time(), tz))
    high = clock.to_utc(datetime.combine(mondays[-1] + timedelta(weeks=1), time(), tz))
    moment = col(Piece.publish_at)
    statement = select(moment).where(*_narrowed(terms), _coming(), moment >= low, moment < high)
    counts = dict.fromkeys(mondays, 0)
    for value in session.exec(statement):
        day = clock.to_utc(value).astimezone(tz).date()
        counts[day - timedelta(days=day.weekday())] += 1
    return [Week(monday, n, capacity) for monday, n in counts.items()]


def quiet_topics(
    session: Session, taxonomy: Taxonomy, terms: dict[str, str], tz: ZoneInfo, now: datetime
) -> list[QuietTopic]:
    """Wanted topics with no publication in the last `topic_cadence_weeks` weeks."""
    weeks = taxonomy.targets.topic_cadence_weeks
    if weeks == 0:
        return []
    wanted = taxonomy.targets.overrides.get("topic", {})
    topics = [t for t in taxonomy.terms("topic") if wanted.get(t.slug) != 0]
    if "topic" in terms:
        topics = [t for t in topics if t.slug == terms["topic"]]
    others = {d: t for d, t in terms.items() if d != "topic"}
    last, upcoming = _topic_dates(session, others, now)
    since = now - timedelta(weeks=weeks)
    quiet = []
    for topic in topics:
        latest = last.get(topic.slug)
        if latest is None or latest < since:
            following = upcoming.get(topic.slug)
            quiet.append(
                QuietTopic(
                    topic.slug,
                    topic.label,
                    latest.astimezone(tz).date() if latest else None,
                    following.astimezone(tz).date() if following else None,
                )
            )
    return quiet


def _topic_dates(
    session: Session, terms: dict[str, str], now: datetime
) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """Per topic, the latest publication up to `now` and the earliest one coming after it."""
    moment = col(Piece.publish_at)
    last = func.max(moment).filter(public_filter(now), moment <= now)
    upcoming = func.min(moment).filter(_coming(), moment > now)
    statement = (
        select(PieceTerm.term, last, upcoming)
        .join(Piece, col(Piece.id) == col(PieceTerm.piece_id))
        .where(PieceTerm.dimension == "topic", moment.is_not(None), *_narrowed(terms))
        .group_by(col(PieceTerm.term))
    )
    latest: dict[str, datetime] = {}
    following: dict[str, datetime] = {}
    for term, before, after in session.exec(statement):
        if before:
            latest[term] = clock.to_utc(before)
        if after:
            following[term] = clock.to_utc(after)
    return latest, following
