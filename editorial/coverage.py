"""Coverage of the audience x stage x topic cube, counted per cell in one grouped SQL query.

For a moment `as_of` (now, or a past date to see whether gaps are closing), each cell counts:

- published: pieces a reader could see at `as_of` (`pieces.public_filter`) that were out by then;
- fresh: published pieces out for at most `fresh_days` and not past their `review_by` date;
- planned: pieces on their way (planned, draft, review, approved, or scheduled or published with a
  publish date still ahead) with a due or publish date no later than the end of the planning
  horizon; late work still counts, since it is still coming, and a piece created after `as_of`
  did not exist yet;

and gap = max(0, target - fresh - planned), priority = gap x the three terms' weights."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, bindparam, case, func, or_
from sqlalchemy.sql.visitors import replacement_traverse
from sqlmodel import Session, col, select

from editorial import clock
from editorial.models import Piece, PieceCell, Status
from editorial.pieces import public_filter, tagged
from editorial.taxonomy import Taxonomy

PIPELINE = (Status.PLANNED, Status.DRAFT, Status.REVIEW, Status.APPROVED)
COMING = (Status.SCHEDULED, Status.PUBLISHED)  # on their way while their publish date is ahead
CELL_FIELDS = ("audience", "stage", "topic", "published", "fresh", "planned", "target", "gap")
# Decimals kept of cell weights and priorities: a product of decimal weights such as 0.1 x 3 is
# not exact in binary, and its last bits must neither show nor outrank an equal priority.
PRECISION = 9


class CoverageError(ValueError):
    """A request the report cannot answer; the message says what to change."""


class CellState(StrEnum):
    """How a cell stands, from best to worst; shown as words as well as colours."""

    COVERED = "covered"  # fresh pieces meet the target
    THIN = "thin"  # some fresh pieces, fewer than the target
    PLANNED = "only planned"  # nothing fresh, but pieces on the way
    STALE = "stale"  # published pieces, none fresh, nothing planned
    GAP = "gap"  # nothing at all
    NOT_WANTED = "not wanted"  # target 0: deliberately left empty


@dataclass(frozen=True)
class Window:
    """The moments a report is measured against."""

    as_of: datetime
    fresh_since: datetime
    horizon_end: datetime

    @classmethod
    def of(cls, taxonomy: Taxonomy, as_of: datetime | None = None) -> Window:
        at = clock.to_utc(as_of) if as_of else clock.now()
        targets = taxonomy.targets
        fresh_since = at - timedelta(days=targets.fresh_days)
        return cls(at, fresh_since, at + timedelta(weeks=targets.horizon_weeks))

    @property
    def today(self) -> date:
        return self.as_of.date()


@dataclass(frozen=True)
class Cell:
    """One audience x stage x topic cell with its counts and target."""

    audience: str
    stage: str
    topic: str
    published: int
    fresh: int
    planned: int
    target: int
    weight: float  # audience weight x stage weight x topic weight

    @property
    def gap(self) -> int:
        return max(0, self.target - self.fresh - self.planned)

    @property
    def priority(self) -> float:
        return round(self.gap * self.weight, PRECISION)

    @property
    def state(self) -> CellState:
        return cell_state(self.target, self.published, self.fresh, self.planned)

    def as_json(self) -> dict[str, Any]:
        """The design's cell shape, plus weight, priority and state."""
        # A shallow copy: dataclasses.asdict deep-copies, and reports have 1,000s of cells.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        return shown | {"gap": self.gap, "priority": self.priority, "state": self.state}


def cell_state(target: int, published: int, fresh: int, planned: int) -> CellState:
    """The state of a cell (or of a sum of cells) from its counts."""
    if target == 0:
        return CellState.NOT_WANTED
    if fresh >= target:
        return CellState.COVERED
    if fresh > 0:
        return CellState.THIN
    if planned > 0:
        return CellState.PLANNED
    return CellState.STALE if published > 0 else CellState.GAP


def published_at() -> ColumnElement[datetime]:
    """When a piece came out: its publish date, or when it was stored if it has none."""
    return func.coalesce(col(Piece.publish_at), col(Piece.created_at))


def is_published(at: datetime) -> ColumnElement[bool]:
    """Public at `at` (the readers' rule) and already out by then."""
    return and_(public_filter(at), published_at() <= at)


def is_fresh(window: Window) -> ColumnElement[bool]:
    """Published, recent enough, and not past its review date."""
    # The cheap tests that most pieces fail come first: SQL stops at the first false one.
    return and_(
        published_at() >= window.fresh_since,
        or_(col(Piece.review_by).is_(None), col(Piece.review_by) >= window.today),
        is_published(window.as_of),
    )


def is_planned(window: Window) -> ColumnElement[bool]:
    """On its way at `as_of`, and dated within the planning horizon. A published piece dated
    later is on its way too: that is how a file schedules a piece, and readers see it only then."""
    at, end = window.as_of, window.horizon_end
    later = or_(col(Piece.publish_at).is_(None), col(Piece.publish_at) > at)
    return and_(
        # redundant, but settles most pieces (published, and out already) in two tests
        or_(col(Piece.status) != Status.PUBLISHED, col(Piece.publish_at) > at),
        or_(col(Piece.status).in_(PIPELINE), and_(col(Piece.status).in_(COMING), later)),
        col(Piece.created_at) <= at,
        or_(col(Piece.due_at) <= end, col(Piece.publish_at) <= end),
    )


def on_cells(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """`expression` over piece columns, read instead from the same columns of `piececell`."""
    pieces, cells = Piece.__table__, PieceCell.__table__  # type: ignore[attr-defined]

    def swap(element: Any) -> Any:
        if isinstance(element, Column) and element.table is pieces:
            return cells.c[element.name]
        return None

    return replacement_traverse(expression, {}, swap)


def cell_counts(
    session: Session, window: Window, topic: str | None = None
) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """(published, fresh, planned) per (audience, stage, topic), in one grouped query."""
    statement = _counts_statement(topic is not None)
    rows = session.connection().execute(statement, _window_values(window, topic))
    return {(ra, rs, rt): (int(p), int(f), int(n)) for ra, rs, rt, p, f, n in rows}


def counts_query(window: Window, topic: str | None = None) -> Select:
    """The grouped query behind `cell_counts`, with this window's moments bound into it.

    `piececell` is keyed by cell, so the grouping streams through it in key order; each
    (piece, cell) pair is tested there instead of being joined from `pieceterm`."""
    return _counts_statement(topic is not None).params(_window_values(window, topic))


def _window_values(window: Window, topic: str | None) -> dict[str, Any]:
    values = {name: getattr(window, name) for name in ("as_of", "fresh_since", "horizon_end")}
    return values | {"today": window.today, "topic": topic}


@cache
def _counts_statement(one_topic: bool) -> Select:
    cell = PieceCell.__table__.c  # type: ignore[attr-defined]
    # A window whose moments are bound parameters, so that the query is built only once.
    moments = ("as_of", "fresh_since", "horizon_end", "today")
    window: Any = SimpleNamespace(**{name: bindparam(name) for name in moments})
    tests = (is_published(window.as_of), is_fresh(window), is_planned(window))
    statement = select(
        cell.audience,
        cell.stage,
        cell.topic,
        *(func.count().filter(on_cells(test)) for test in tests),
    ).group_by(cell.audience, cell.stage, cell.topic)
    if one_topic:
        statement = statement.where(cell.topic == bindparam("topic"))
    return statement


def coverage(
    session: Session, taxonomy: Taxonomy, *, topic: str | None = None, as_of: datetime | None = None
) -> list[Cell]:
    """Every cell of the cube (or of one topic's slice), in the taxonomy's declared order."""
    topic = resolve_topic(taxonomy, topic) if topic is not None else None
    counts = cell_counts(session, Window.of(taxonomy, as_of), topic)
    cells = []
    for audience, stage, term in cube(taxonomy, topic):
        published, fresh, planned = counts.get((audience.slug, stage.slug, term.slug), (0, 0, 0))
        target = taxonomy.targets.target(audience.slug, stage.slug, term.slug)
        weight = round(audience.weight * stage.weight * term.weight, PRECISION)
        cells.append(
            Cell(audience.slug, stage.slug, term.slug, published, fresh, planned, target, weight)
        )
    return cells


def cube(taxonomy: Taxonomy, topic: str | None = None) -> Iterator[tuple[Any, Any, Any]]:
    """(audience, stage, topic) terms of every cell, in declared order."""
    topics = [t for t in taxonomy.terms("topic") if topic is None or t.slug == topic]
    for audience in taxonomy.terms("audience"):
        for stage in taxonomy.terms("stage"):
            for term in topics:
                yield audience, stage, term


def resolve_topic(taxonomy: Taxonomy, value: str) -> str:
    """The topic slug `value` names (slug or label); an unknown one names the closest topic."""
    return resolve_term(taxonomy, "topic", value)


def resolve_term(taxonomy: Taxonomy, dimension: str, value: str) -> str:
    """The `dimension` term `value` names; an unknown one names the closest declared term."""
    slug = taxonomy.resolve(dimension, value)
    if slug is not None:
        return slug
    closest = taxonomy.closest(dimension, value)
    hint = f"; did you mean '{closest}'?" if closest else ""
    raise CoverageError(
        f"unknown {dimension} '{value}'{hint} (the {dimension}s are declared in taxonomy.yaml)"
    )


def parse_as_of(value: str) -> datetime:
    """A report moment from `YYYY-MM-DD` (the end of that day, UTC) or an ISO date-time."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(clock.in_range(date.fromisoformat(text)), time.max, UTC)
        return clock.given_moment(text)
    except clock.OutOfRange as exc:
        raise CoverageError(f"bad --as-of date: {exc}") from exc
    except ValueError as exc:
        raise CoverageError(
            f"bad --as-of date {value!r}; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
        ) from exc


@dataclass(frozen=True)
class CellPiece:
    """A piece tagged for a cell, and what it counts as there."""

    slug: str
    title: str
    status: str
    publish_at: datetime | None
    due_at: datetime | None
    counts_as: str  # fresh, published (not fresh), planned, or not counted


def cell_pieces(
    session: Session,
    window: Window,
    audience: str,
    stage: str,
    topic: str | None = None,
    limit: int = 200,
) -> list[CellPiece]:
    """The pieces tagged for a cell (any topic when `topic` is None), newest first."""
    counts_as = case(
        (is_fresh(window), "fresh"),
        (is_published(window.as_of), "published (not fresh)"),
        (is_planned(window), "planned"),
        else_="not counted",
    )
    wanted = [("audience", audience), ("stage", stage), *([("topic", topic)] if topic else [])]
    statement = (
        select(Piece.slug, Piece.title, Piece.status, Piece.publish_at, Piece.due_at, counts_as)
        .where(*(col(Piece.id).in_(tagged(d, t)) for d, t in wanted))
        .order_by(published_at().desc(), col(Piece.slug))
        .limit(limit)
    )
    return [CellPiece(*row) for row in session.exec(statement)]
