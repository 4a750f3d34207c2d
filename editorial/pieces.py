"""Reading pieces: what is public, filtered listings, one piece with its terms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, Select, and_, false, func, or_, true
from sqlmodel import Session, col, select

from editorial import clock
from editorial.models import DIMENSIONS, Piece, PieceTerm, Status


def public_filter(at: datetime) -> ColumnElement[bool]:
    """SQL for "a reader may see this now": published or scheduled, due, not expired, present."""
    published = and_(
        col(Piece.status) == Status.PUBLISHED,
        or_(col(Piece.publish_at).is_(None), col(Piece.publish_at) <= at),
    )
    scheduled = and_(col(Piece.status) == Status.SCHEDULED, col(Piece.publish_at) <= at)
    return and_(
        or_(published, scheduled),
        or_(col(Piece.expire_at).is_(None), col(Piece.expire_at) > at),
        col(Piece.missing_since).is_(None),
    )


def last_modified(
    publish_at: datetime | None, modified_at: datetime | None, updated_at: datetime
) -> datetime:
    """When a public piece last changed for its readers (feeds, sitemap, `dateModified`, the
    API): its `lastmod` or a change the store saw, never before its publish date; the publish
    date when neither is known. An undated piece falls back to the store's last write to it."""
    if publish_at is None:
        return modified_at or updated_at
    return publish_at if modified_at is None else max(publish_at, modified_at)


@dataclass
class PieceQuery:
    """Filters for a listing; every dimension filter takes one term slug."""

    audience: str | None = None
    stage: str | None = None
    topic: str | None = None
    format: str | None = None
    status: str | None = None
    text: str | None = None
    page: int = 1
    per_page: int = 20


def newest_first() -> tuple:
    """Listing order: publish date (an undated piece by when the store first had it), then slug
    for a stable tie-break."""
    return (func.coalesce(Piece.publish_at, Piece.created_at).desc(), col(Piece.slug))


def list_pieces(
    session: Session, query: PieceQuery, *, public_only: bool = True, at: datetime | None = None
) -> tuple[list[Piece], int]:
    """One page of pieces matching `query`, and how many match in all."""
    conditions = [public_filter(at or clock.now())] if public_only else []
    if query.status and public_only:  # readers see a public piece as published (see shown_status)
        conditions.append(true() if query.status == Status.PUBLISHED else false())
    elif query.status:
        conditions.append(col(Piece.status) == query.status)
    for dimension in DIMENSIONS:
        term = getattr(query, dimension)
        if term:
            conditions.append(col(Piece.id).in_(tagged(dimension, term)))
    if query.text:
        pattern = _contains(query.text)
        conditions.append(
            or_(
                col(Piece.title).ilike(pattern, escape="\\"),
                col(Piece.summary).ilike(pattern, escape="\\"),
            )
        )
    total = session.exec(select(func.count()).select_from(Piece).where(*conditions)).one()
    statement = (
        select(Piece)
        .where(*conditions)
        .order_by(*newest_first())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    return list(session.exec(statement)), total


def _contains(text: str) -> str:
    """A LIKE pattern that matches `text` literally anywhere (wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def tagged(dimension: str, term: str) -> Select:
    """Ids of pieces tagged `term` on `dimension` (one indexed lookup)."""
    return select(PieceTerm.piece_id).where(
        PieceTerm.dimension == dimension, PieceTerm.term == term
    )


def get_piece(
    session: Session, slug: str, *, public_only: bool = True, at: datetime | None = None
) -> Piece | None:
    """The piece at `slug`; with `public_only`, None unless a reader may see it now."""
    statement = select(Piece).where(Piece.slug == slug)
    if public_only:
        statement = statement.where(public_filter(at or clock.now()))
    return session.exec(statement).first()


def terms_of(session: Session, piece_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Each piece's terms by dimension, in one query."""
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if piece_ids:
        rows = session.exec(
            select(PieceTerm)
            .where(col(PieceTerm.piece_id).in_(piece_ids))
            .order_by(col(PieceTerm.piece_id), col(PieceTerm.dimension), col(PieceTerm.term))
        )
        for row in rows:
            found[row.piece_id][row.dimension].append(row.term)
    return {pid: dict(dims) for pid, dims in found.items()}


def count_pieces(engine: Engine) -> int:
    """How many pieces the store holds, of any status."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Piece)).one()


def html_of(session: Session, piece_ids: list[int]) -> dict[int, str]:
    """The cached HTML of each piece, in one query."""
    statement = select(Piece.id, Piece.html).where(col(Piece.id).in_(piece_ids))
    rows = session.connection().execute(statement)  # Core: no ORM cost on every page view
    return {piece_id: html for piece_id, html in rows if piece_id is not None}
