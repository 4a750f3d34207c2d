"""Coverage gaps, for editors: the report (JSON and CSV), commissioning a piece, the review queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.deps import EditorUser, SessionDep, SettingsDep
from editorial.audit import low_rated_query
from editorial.clock import to_utc
from editorial.commission import CommissionRequest, commission
from editorial.coverage import CoverageError, parse_as_of
from editorial.gaps import gap_report
from editorial.models import Piece
from editorial.pieces import terms_of
from editorial.refresh import review_queue
from editorial.taxonomy import Taxonomy, TaxonomyError, current_taxonomy

router = APIRouter(prefix="/api", tags=["gaps"])
TopicQuery = Annotated[str | None, Query(max_length=200, description="One topic's slice")]
AsOfQuery = Annotated[
    str | None, Query(max_length=40, description="YYYY-MM-DD (end of that day, UTC) or ISO time")
]


async def site_taxonomy(settings: SettingsDep) -> Taxonomy:
    """The taxonomy as it is on disk now (a stat per request: no thread hop needed)."""
    try:
        return current_taxonomy(settings.content_dir / "taxonomy.yaml")
    except TaxonomyError as error:
        raise HTTPException(503, f"The taxonomy cannot be read: {error}") from error


TaxonomyDep = Annotated[Taxonomy, Depends(site_taxonomy)]


@contextmanager
def answerable() -> Iterator[None]:
    """A request the report cannot answer is a 422 that says what to change."""
    try:
        yield
    except CoverageError as error:
        raise HTTPException(422, str(error)) from error


def moment(as_of: str | None) -> datetime | None:
    """The report's moment from the `as_of` query value (now when absent)."""
    with answerable():
        return parse_as_of(as_of) if as_of else None


class CommissionBody(BaseModel):
    """A recommendation to turn into a planned piece; the cell's terms by slug or label."""

    audience: str = Field(max_length=200)
    stage: str = Field(max_length=200)
    topic: str = Field(max_length=200)
    title: str | None = Field(default=None, max_length=300)
    derived_from: str | None = Field(default=None, max_length=200)
    week: date | None = None


class Commissioned(BaseModel):
    """The planned piece now on the calendar."""

    slug: str
    title: str
    status: str
    terms: dict[str, list[str]]
    derived_from: str | None
    publish_at: datetime | None
    due_at: datetime | None


@router.get("/gaps", response_model=dict[str, Any])
def read_gaps(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    settings: SettingsDep,
    _editor: EditorUser,
    topic: TopicQuery = None,
    as_of: AsOfQuery = None,
    limit: Annotated[int, Query(ge=0, le=500)] = 10,
) -> Response:
    """Every audience x stage x topic cell (or one topic's), and what to commission next."""
    with answerable():
        report = gap_report(
            session, taxonomy, topic=topic, as_of=moment(as_of), limit=limit, tz=settings.zone
        )
    # hundreds of cells, already plain JSON values: validating and encoding them again would
    # cost more than making the report
    return JSONResponse(report.as_json())


@router.get("/gaps.csv", response_class=Response)
def read_gaps_csv(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    _editor: EditorUser,
    topic: TopicQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    """The report's cells as CSV, one row per cell."""
    with answerable():
        report = gap_report(session, taxonomy, topic=topic, as_of=moment(as_of), limit=0)
    name = f"gaps-{report.as_of:%Y-%m-%d}{'-' + topic if topic else ''}.csv"
    return Response(
        report.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/gaps/commission", status_code=201)
def commission_gap(
    body: CommissionBody,
    session: SessionDep,
    taxonomy: TaxonomyDep,
    settings: SettingsDep,
    editor: EditorUser,
) -> Commissioned:
    """Turn a recommendation into one planned piece on the calendar, tagged for its cell."""
    asked = CommissionRequest(**body.model_dump())
    with answerable():
        piece = commission(session, taxonomy, asked, actor=editor.email, tz=settings.zone)
    return commissioned(session, piece)


def commissioned(session: Session, piece: Piece) -> Commissioned:
    """What the API says about a piece it just planned."""
    assert piece.id is not None
    return Commissioned(
        slug=piece.slug,
        title=piece.title,
        status=piece.status,
        terms=terms_of(session, [piece.id]).get(piece.id, {}),
        derived_from=piece.derived_from,
        publish_at=to_utc(piece.publish_at) if piece.publish_at else None,
        due_at=to_utc(piece.due_at) if piece.due_at else None,
    )


@router.get("/gaps/review-queue")
def read_review_queue(
    session: SessionDep,
    taxonomy: TaxonomyDep,
    settings: SettingsDep,
    _editor: EditorUser,
    as_of: AsOfQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Published pieces no longer fresh, past their review date or rated low, heaviest cells first."""
    flags = {"low rated": low_rated_query(settings)}
    items = review_queue(session, taxonomy, as_of=moment(as_of), limit=limit, flags=flags)
    return {"items": [item.as_json() for item in items]}
