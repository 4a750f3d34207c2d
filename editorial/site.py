"""Public pages, composed from the store and rendered by the one renderer (server and export)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from editorial.clock import now
from editorial.models import DIMENSIONS, FREE_TAG, Piece
from editorial.pieces import PieceQuery, get_piece, list_pieces, public_filter, terms_of
from editorial.render import Renderer
from editorial.taxonomy import Taxonomy, Term


@dataclass
class Listing:
    """A page of pieces with the terms of each, ready for a template."""

    pieces: list[Piece]
    terms: dict[int, dict[str, list[Term]]]
    page: int
    pages: int


def labelled(taxonomy: Taxonomy, terms: dict[str, list[str]]) -> dict[str, list[Term]]:
    """Term slugs by dimension -> declared Term objects (undeclared ones keep their slug)."""
    return {
        dimension: [taxonomy.term(dimension, slug) or Term(slug, slug) for slug in terms[dimension]]
        for dimension in (*DIMENSIONS, FREE_TAG)
        if terms.get(dimension)
    }


class Pages:
    """Every public page; None means "not found" (never "forbidden")."""

    def __init__(self, renderer: Renderer, taxonomy: Taxonomy, per_page: int = 20) -> None:
        self.renderer = renderer
        self.taxonomy = taxonomy
        self.per_page = per_page

    def _render(self, template: str, **context: Any) -> str:
        return self.renderer.render(template, stages=self.taxonomy.terms("stage"), **context)

    def listing(self, session: Session, query: PieceQuery, at: datetime | None = None) -> Listing:
        """One page of public pieces for `query`, with their labelled terms."""
        pieces, total = list_pieces(session, query, at=at)
        raw = terms_of(session, [p.id for p in pieces if p.id is not None])
        terms = {pid: labelled(self.taxonomy, t) for pid, t in raw.items()}
        return Listing(pieces, terms, query.page, max(1, math.ceil(total / query.per_page)))

    def home(self, session: Session, page: int = 1, at: datetime | None = None) -> str | None:
        """The home page (latest published pieces); None past the last page."""
        result = self.listing(session, PieceQuery(page=page, per_page=self.per_page), at)
        if page > result.pages:
            return None
        return self._render("home.html", listing=result, path="")

    def term(
        self,
        session: Session,
        dimension: str,
        slug: str,
        page: int = 1,
        at: datetime | None = None,
    ) -> str | None:
        """The page of one declared term; None for an unknown term or a page past the last."""
        term = self.taxonomy.term(dimension, slug)
        if dimension not in DIMENSIONS or term is None:
            return None
        query = PieceQuery(page=page, per_page=self.per_page, **{dimension: slug})
        result = self.listing(session, query, at)
        if page > result.pages:
            return None
        return self._render(
            "term.html",
            listing=result,
            dimension=dimension,
            term=term,
            path=f"{dimension}/{slug}/",
        )

    def piece(self, session: Session, slug: str, at: datetime | None = None) -> str | None:
        """A public piece's page; None when the piece is not public."""
        at = at or now()
        piece = get_piece(session, slug, at=at)
        if piece is None or piece.id is None:
            return None
        core = get_piece(session, piece.derived_from, at=at) if piece.derived_from else None
        variants = session.exec(
            select(Piece)
            .where(col(Piece.derived_from) == piece.slug, public_filter(at))
            .order_by(col(Piece.slug))
        ).all()
        terms = labelled(self.taxonomy, terms_of(session, [piece.id]).get(piece.id, {}))
        return self._render(
            "piece.html",
            piece=piece,
            terms=terms,
            core=core,
            variants=variants,
            path=f"pieces/{slug}/",
        )

    def not_found(self) -> str:
        """The page for anything that does not exist or is not public."""
        return self._render("404.html", path="404.html")
