"""JSON API for pieces. Anonymous callers see published pieces only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from app.deps import SessionDep, SettingsDep
from editorial.models import PieceList, PiecePublic, PieceSummary, Status
from editorial.pieces import PieceQuery, get_piece, last_modified, list_pieces, terms_of

router = APIRouter(prefix="/api/pieces", tags=["pieces"])
# Every piece a reader is shown is published to them: a scheduled one is public only once its
# moment has passed, and the calendar and the pages call it published from then on.
PUBLISHED = {"status": Status.PUBLISHED.value}


@router.get("")
def list_public_pieces(
    session: SessionDep,
    settings: SettingsDep,
    audience: str | None = None,
    stage: str | None = None,
    topic: str | None = None,
    format: str | None = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in title or summary")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PieceList:
    """Published pieces, newest first, filtered by term, status and text."""
    query = PieceQuery(audience, stage, topic, format, status, q, page, per_page)
    pieces, total = list_pieces(session, query)
    terms = terms_of(session, [p.id for p in pieces if p.id is not None])
    items = [
        PieceSummary.model_validate(p, update={"terms": terms.get(p.id, {}), **PUBLISHED})
        for p in pieces
    ]
    return PieceList(items=items, total=total, page=page, per_page=per_page)


@router.get("/{slug}", responses={404: {"description": "No published piece at this slug"}})
def read_piece(slug: str, session: SessionDep) -> PiecePublic:
    """One published piece with its rendered HTML."""
    piece = get_piece(session, slug)
    if piece is None or piece.id is None:
        raise HTTPException(status_code=404, detail="Not Found")
    terms = terms_of(session, [piece.id]).get(piece.id, {})
    modified = last_modified(piece.publish_at, piece.modified_at, piece.updated_at)
    # The core piece is named only while readers may see it: a draft's slug is not public.
    core = (
        piece.derived_from
        if piece.derived_from and get_piece(session, piece.derived_from)
        else None
    )
    shown = {"terms": terms, "modified": modified, "derived_from": core, **PUBLISHED}
    return PiecePublic.model_validate(piece, update=shown)
