"""The dashboard's coverage heatmap (/editor/gaps): audiences by stages for one topic or all,
each cell's state in words and counts, its pieces on a click, what to commission next (a form
button per recommendation), and the review queue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.dashboard import render_dashboard
from app.deps import DashboardEditor, SessionDep
from app.routers.gaps import TaxonomyDep
from editorial.audit import low_rated_query
from editorial.auth import SignedIn
from editorial.commission import CommissionRequest, commission
from editorial.coverage import (
    CellState,
    CoverageError,
    Window,
    cell_pieces,
    parse_as_of,
    resolve_topic,
)
from editorial.gaps import gap_report, heatmap
from editorial.refresh import review_queue as stale_pieces
from editorial.taxonomy import Taxonomy

router = APIRouter(prefix="/editor/gaps", tags=["dashboard"], include_in_schema=False)
HOME = "/editor/gaps"
Param = Annotated[str, Query(max_length=200)]
STATE_NOTES = {
    CellState.COVERED: "fresh pieces meet the target",
    CellState.THIN: "some fresh pieces, fewer than the target",
    CellState.PLANNED: "nothing fresh yet, but pieces on the way",
    CellState.STALE: "published pieces, none fresh, nothing planned",
    CellState.GAP: "nothing published or planned",
    CellState.NOT_WANTED: "target 0: deliberately left empty",
}


@router.get("", response_class=HTMLResponse)
def gaps_page(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    signed_in: DashboardEditor,
    topic: Param = "",
    as_of: Param = "",
    audience: Param = "",
    stage: Param = "",
    commissioned: Param = "",
) -> Response:
    """The coverage heatmap, a cell's pieces, recommendations and the review queue."""
    query = {"topic": topic, "as_of": as_of, "audience": audience, "stage": stage}
    return render_page(request, session, taxonomy, signed_in, query, commissioned=commissioned)


@router.post("/commission")
def commission_form(
    request: Request,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    signed_in: DashboardEditor,
    audience: Annotated[str, Form(max_length=200)],
    stage: Annotated[str, Form(max_length=200)],
    topic: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=300)] = "",
    derived_from: Annotated[str, Form(max_length=200)] = "",
    week: Annotated[date | None, Form()] = None,
    view_topic: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Plan the recommended piece, then show the heatmap again with a note."""
    asked = CommissionRequest(audience, stage, topic, title or None, derived_from or None, week)
    try:
        tz = request.app.state.settings.zone
        piece = commission(
            session, taxonomy, asked, actor=signed_in.user.email, origin="form", tz=tz
        )
    except CoverageError as error:
        query = {"topic": view_topic}
        return render_page(
            request, session, taxonomy, signed_in, query, error=str(error), status_code=422
        )
    back = urlencode({k: v for k, v in (("topic", view_topic), ("commissioned", piece.slug)) if v})
    return RedirectResponse(f"{HOME}?{back}", status_code=303)


def render_page(
    request: Request,
    session: Session,
    taxonomy: Taxonomy,
    signed_in: SignedIn,
    query: dict[str, str],
    *,
    commissioned: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    """The page for the query's topic, moment and selected cell; bad values become messages."""
    errors: list[str] = [error] if error else []
    moment = _moment(query.get("as_of", ""), errors)
    topic = query.get("topic") or None
    settings = request.app.state.settings
    try:
        topic = resolve_topic(taxonomy, topic) if topic else None  # a label names its slug
        report = gap_report(session, taxonomy, topic=topic, as_of=moment, tz=settings.zone)
    except CoverageError as problem:
        errors.append(str(problem))
        topic, report = None, gap_report(session, taxonomy, as_of=moment, tz=settings.zone)
    window = Window.of(taxonomy, report.as_of)
    selected = _selected(taxonomy, query)
    pieces = cell_pieces(session, window, *selected, topic) if selected else []
    return render_dashboard(
        request,
        signed_in,
        "editor/gaps.html",
        status_code=status_code,
        taxonomy=taxonomy,
        report=report,
        grid=heatmap(report.cells),
        topic=topic,
        as_of=query.get("as_of", "") if moment else "",
        selected=selected,
        pieces=pieces,
        queue=stale_pieces(
            session,
            taxonomy,
            as_of=report.as_of,
            limit=10,
            flags={"low rated": low_rated_query(settings)},
        ),
        states=STATE_NOTES,
        commissioned=commissioned,
        errors=errors,
    )


def _moment(value: str, errors: list[str]) -> datetime | None:
    try:
        return parse_as_of(value) if value else None
    except CoverageError as problem:
        errors.append(str(problem))
        return None


def _selected(taxonomy: Taxonomy, query: dict[str, str]) -> tuple[str, str] | None:
    """The clicked cell's audience and stage, if both are declared terms."""
    audience, stage = query.get("audience", ""), query.get("stage", "")
    if taxonomy.term("audience", audience) and taxonomy.term("stage", stage):
        return audience, stage
    return None
