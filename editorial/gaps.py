"""The gap report: ranked recommendations of what to commission next, each with a suggested week
and, where a core piece already serves the same stage and topic for another audience, a cheap
fill (a personalised variant of it); commissioning one; the report's JSON and CSV shapes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    DateTime,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from editorial import clock
from editorial.coverage import (
    CELL_FIELDS,
    Cell,
    CellState,
    Window,
    cell_state,
    coverage,
    is_published,
    published_at,
)
from editorial.models import COVERAGE_DIMENSIONS, Piece, PieceTerm, Status
from editorial.taxonomy import Taxonomy

RECOMMENDATIONS = 10
CSV_FIELDS = (*CELL_FIELDS, "weight", "priority", "state")


@dataclass(frozen=True)
class Core:
    """A core piece (not derived from another) that a variant could be personalised from."""

    slug: str
    title: str
    format: str | None


@dataclass(frozen=True)
class Recommendation:
    """One gap worth filling, where it fits on the calendar, and how to fill it cheaply."""

    audience: str
    stage: str
    topic: str
    gap: int
    priority: float
    week: date | None  # Monday of the suggested week; None when every week is full
    title: str
    derived_from: str | None = None  # the core piece to personalise, for a cheap fill

    def as_json(self) -> dict[str, Any]:
        week = self.week.isoformat() if self.week else None
        return asdict(self) | {"week": week, "cheap_fill": self.derived_from is not None}


@dataclass(frozen=True)
class GapReport:
    """Cells and recommendations at one moment."""

    as_of: datetime
    cells: list[Cell]
    recommendations: list[Recommendation]

    def as_json(self) -> dict[str, Any]:
        """The design's shape: {"cells": [...], "recommendations": [...]} plus `as_of`."""
        return {
            "as_of": self.as_of.isoformat(),
            "cells": [cell.as_json() for cell in self.cells],
            "recommendations": [r.as_json() for r in self.recommendations],
        }

    def to_csv(self) -> str:
        """One row per cell, with the JSON cell fields as columns."""
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(cell.as_json() for cell in self.cells)
        return out.getvalue()


@dataclass(frozen=True)
class HeatCell:
    """An audience x stage square of the heatmap: one cell, or the sum over every topic."""

    published: int
    fresh: int
    planned: int
    target: int
    gap: int
    gaps: int  # how many of its cells have a gap
    state: CellState


def heatmap(cells: Iterable[Cell]) -> dict[tuple[str, str], HeatCell]:
    """The cells summed by (audience, stage), over the topics they cover."""
    squares: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        squares.setdefault((cell.audience, cell.stage), []).append(cell)
    return {key: square(group) for key, group in squares.items()}


def square(cells: list[Cell]) -> HeatCell:
    """Cells summed into one square. Its state comes from the wanted cells alone, each one's
    fresh pieces counted up to its target: one topic's surplus never covers another's gap."""
    wanted = [c for c in cells if c.target > 0]
    state = cell_state(
        sum(c.target for c in wanted),
        sum(c.published for c in wanted),
        sum(min(c.fresh, c.target) for c in wanted),
        sum(c.planned for c in wanted),
    )
    return HeatCell(
        sum(c.published for c in cells),
        sum(c.fresh for c in cells),
        sum(c.planned for c in cells),
        sum(c.target for c in cells),
        sum(c.gap for c in cells),
        sum(c.gap > 0 for c in cells),
        state,
    )


def gap_report(
    session: Session,
    taxonomy: Taxonomy,
    *,
    topic: str | None = None,
    as_of: datetime | None = None,
    limit: int = RECOMMENDATIONS,
    tz: tzinfo = UTC,
) -> GapReport:
    """The full cube (or one topic's slice) and the `limit` highest-priority recommendations,
    placed in weeks that start on Monday in the site's time zone `tz`, as the calendar's do."""
    window = Window.of(taxonomy, as_of)
    cells = coverage(session, taxonomy, topic=topic, as_of=window.as_of)
    recommended = recommend(session, taxonomy, cells, window, limit, tz)
    return GapReport(window.as_of, cells, recommended)


def recommend(
    session: Session,
    taxonomy: Taxonomy,
    cells: Iterable[Cell],
    window: Window,
    limit: int,
    tz: tzinfo = UTC,
) -> list[Recommendation]:
    """Gaps by priority (declared order breaks ties), each placed in the first week with room."""
    ranked = sorted((c for c in cells if c.gap > 0), key=lambda c: -c.priority)[:limit]
    load = week_load(session, horizon_weeks(taxonomy, window, tz), tz)
    found: list[Recommendation] = []
    for cell, cores in zip(ranked, cheap_fills(session, ranked, window.as_of), strict=True):
        week = first_open_week(load, taxonomy.targets.pieces_per_week)
        if week is not None:
            load[week] += 1  # the next recommendation sees this one on the calendar
        used = {r.derived_from for r in found if r.audience == cell.audience}
        core = next((core for core in cores if core.slug not in used), None)
        title = suggested_title(taxonomy, cell.audience, cell.stage, cell.topic, core)
        slug = core.slug if core else None
        found.append(
            Recommendation(
                cell.audience, cell.stage, cell.topic, cell.gap, cell.priority, week, title, slug
            )
        )
    return found


def horizon_weeks(taxonomy: Taxonomy, window: Window, tz: tzinfo = UTC) -> list[date]:
    """The Mondays of the weeks a new piece could go in: from next week to the horizon's end."""
    today = window.as_of.astimezone(tz).date()
    first = today + timedelta(days=7 - today.weekday())
    return [first + timedelta(weeks=n) for n in range(taxonomy.targets.horizon_weeks)]


def week_load(session: Session, weeks: list[date], tz: tzinfo = UTC) -> dict[date, int]:
    """Pieces published or planned in each week (by publish date, else due date), the weeks'
    days counted in the time zone `tz`."""
    load = dict.fromkeys(weeks, 0)
    if not weeks:
        return load
    moment = func.coalesce(col(Piece.publish_at), col(Piece.due_at))
    statement = select(moment).where(
        col(Piece.status).not_in((Status.IDEA, Status.ARCHIVED)),
        moment >= clock.to_utc(datetime.combine(weeks[0], time(), tz)),
        moment < clock.to_utc(datetime.combine(weeks[-1] + timedelta(weeks=1), time(), tz)),
    )
    for value in session.exec(statement):
        day = clock.to_utc(value).astimezone(tz).date()
        load[day - timedelta(days=day.weekday())] += 1
    return load


def first_open_week(load: dict[date, int], pieces_per_week: int) -> date | None:
    """The first week carrying fewer than `pieces_per_week` pieces, if any."""
    return next((week for week, count in load.items() if count < pieces_per_week), None)


def cheap_fills(session: Session, cells: Sequence[Cell], at: datetime) -> list[list[Core]]:
    """For each cell, the core pieces a variant could be personalised from: published, for the
    same stage and topic, aimed at other audiences, with no variant for the cell's audience yet.
    Newest first, and at most as many as there are cells: enough to pass over the cores already
    suggested for earlier cells. One query, whatever the number of cells."""
    found: list[list[Core]] = [[] for _ in cells]
    if not cells:
        return found
    parameters: dict[str, Any] = {"at": at, "limit": len(cells)}
    for n, cell in enumerate(cells):
        parameters |= {f"audience_{n}": cell.audience, f"stage_{n}": cell.stage}
        parameters[f"topic_{n}"] = cell.topic
    for n, slug, title, form in session.connection().execute(_cheap_fills(len(cells)), parameters):
        found[n].append(Core(slug, title, form))
    return found


def _wanted(cells: int) -> CTE:
    """The cells asked about, as rows (n, audience, stage, topic) of bound values."""
    rows = [
        select(
            literal_column(str(n)).label("n"),
            *(bindparam(f"{name}_{n}", type_=String).label(name) for name in COVERAGE_DIMENSIONS),
        )
        for n in range(cells)
    ]
    return (union_all(*rows) if cells > 1 else rows[0]).cte("wanted")


@cache
def _cheap_fills(cells: int) -> Select:
    """Each wanted cell's candidates, best first (newest, then by slug), up to `limit` each.
    Built once per number of cells."""
    wanted = _wanted(cells)
    at = bindparam("at", type_=DateTime(timezone=True))
    stage, topic, aimed = aliased(PieceTerm), aliased(PieceTerm), aliased(PieceTerm)
    variant = aliased(Piece)
    # A join, not `_tagged`: an EXISTS nested two levels down would not correlate with `wanted`.
    has_variant = (
        select(variant.id)
        .join(aimed, and_(aimed.piece_id == variant.id, aimed.dimension == "audience"))
        .where(variant.derived_from == Piece.slug, variant.status != Status.ARCHIVED)
        .where(aimed.term == wanted.c.audience)
        .exists()
    )
    order = (published_at().desc(), col(Piece.slug))
    rank = func.row_number().over(partition_by=wanted.c.n, order_by=order).label("rank")
    ranked = (
        select(wanted.c.n, Piece.slug, Piece.title, Piece.format, rank)
        .select_from(wanted)
        .join(stage, and_(stage.dimension == "stage", stage.term == wanted.c.stage))
        .join(
            topic,
            and_(
                topic.piece_id == stage.piece_id,
                topic.dimension == "topic",
                topic.term == wanted.c.topic,
            ),
        )
        .join(Piece, col(Piece.id) == stage.piece_id)
        .where(is_published(at), col(Piece.derived_from).is_(None))
        .where(_tagged(Piece.id, "audience"), ~_tagged(Piece.id, "audience", wanted.c.audience))
        .where(~has_variant)
        .subquery()
    )
    return (
        select(ranked.c.n, ranked.c.slug, ranked.c.title, ranked.c.format)
        .where(ranked.c.rank <= bindparam("limit"))
        .order_by(ranked.c.n, ranked.c.rank)
    )


def _tagged(piece_id: Any, dimension: str, term: Any = None) -> Any:
    """EXISTS: the piece has a tag on `dimension` (`term`, or any)."""
    statement = select(PieceTerm.piece_id).where(
        PieceTerm.piece_id == piece_id, PieceTerm.dimension == dimension
    )
    if term is not None:
        statement = statement.where(PieceTerm.term == term)
    return statement.exists()


def suggested_title(
    taxonomy: Taxonomy, audience: str, stage: str, topic: str, core: Core | None
) -> str:
    """A working title: the core's, personalised, or one that names the cell."""
    labels = [label(taxonomy, d, t) for d, t in (("audience", audience), ("stage", stage))]
    if core is not None:
        return f"{core.title} — for {labels[0]}"
    return f"{label(taxonomy, 'topic', topic)} for {labels[0]} ({labels[1]})"


def label(taxonomy: Taxonomy, dimension: str, slug: str) -> str:
    """The term's label for people, or its slug if the taxonomy no longer declares it."""
    term = taxonomy.term(dimension, slug)
    return term.label if term else slug
