"""The review queue: published pieces that fell out of freshness or passed their review date,
those covering the heaviest wanted cells first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Select, case, cast, func, literal, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from editorial import clock
from editorial.coverage import PRECISION, Window, is_published, published_at
from editorial.models import COVERAGE_DIMENSIONS, Piece, PieceTerm
from editorial.taxonomy import Taxonomy


@dataclass(frozen=True)
class ReviewItem:
    """A published piece that needs an editor's look, and why."""

    slug: str
    title: str
    published_at: datetime
    review_by: date | None
    reasons: tuple[str, ...]
    weight: float  # the summed weights of the wanted cells it covers

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "published_at": clock.to_utc(self.published_at).isoformat(),
            "review_by": self.review_by.isoformat() if self.review_by else None,
            "reasons": list(self.reasons),
        }


def review_queue(
    session: Session,
    taxonomy: Taxonomy,
    *,
    as_of: datetime | None = None,
    limit: int = 50,
    flags: Mapping[str, Select] | None = None,
) -> list[ReviewItem]:
    """Published pieces no longer fresh or past `review_by`: heaviest cells, then oldest, first.

    `flags` adds reasons of its own: each name maps to a query of piece ids (such as the
    low-rated pieces of the feedback report) whose published pieces join the queue."""
    window = Window.of(taxonomy, as_of)
    reasons = {
        "stale": published_at() < window.fresh_since,
        "review due": col(Piece.review_by) < window.today,
        **{name: col(Piece.id).in_(ids) for name, ids in (flags or {}).items()},
    }
    tag = aliased(PieceTerm, name="tag")
    # rounded as cell weights are: sums of decimal weights (0.1 + 0.2) must tie with their equals
    weight = func.round(cast(piece_weight(taxonomy, tag), Numeric), PRECISION).label("weight")
    hits = [
        func.max(case((test, 1), else_=0)).label(f"hit{n}")
        for n, test in enumerate(reasons.values())
    ]
    at = func.max(published_at()).label("at")
    # ranked by piece id alone (no wide columns), then only the first `limit` are read in full
    ranked = (
        select(col(Piece.id).label("id"), at, weight, *hits)
        .outerjoin(tag, tag.piece_id == Piece.id)
        .where(is_published(window.as_of), or_(*reasons.values()))
        .group_by(col(Piece.id))
        .order_by(weight.desc(), at, col(Piece.id))
        .limit(limit)
        .subquery("ranked")
    )
    statement = (
        select(Piece.slug, Piece.title, ranked.c.at, Piece.review_by, ranked.c.weight)
        .add_columns(*(ranked.c[hit.name] for hit in hits))
        .join(ranked, ranked.c.id == Piece.id)
        .order_by(ranked.c.weight.desc(), ranked.c.at, ranked.c.id)
    )
    names = list(reasons)
    return [
        ReviewItem(
            slug,
            title,
            at,
            by,
            tuple(n for n, hit in zip(names, found, strict=True) if hit),
            float(w),
        )
        for slug, title, at, by, w, *found in session.exec(statement)
    ]


def piece_weight(taxonomy: Taxonomy, tag: Any) -> ColumnElement[float]:
    """SQL, over a piece's tag rows, for the summed weight of the wanted cells it covers.

    A cell weighs the product of its three terms' weights and is wanted unless one of its terms
    has target 0 (and, when `per_cell` is 0, only if one has a positive target). Both sums of
    products over the piece's cells factor into products of per-dimension sums, so the tags are
    read once instead of being crossed."""
    weight = _product(taxonomy, tag, skip_positive=False)
    if taxonomy.targets.per_cell == 0:
        weight = weight - _product(taxonomy, tag, skip_positive=True)
    return weight


def _product(taxonomy: Taxonomy, tag: Any, *, skip_positive: bool) -> ColumnElement[float]:
    """The product over the three dimensions of the piece's summed (kept) term weights."""
    overrides = taxonomy.targets.overrides
    product: ColumnElement[float] = literal(1.0)
    for dimension in COVERAGE_DIMENSIONS:
        kept = {}
        for term in taxonomy.terms(dimension):
            target = overrides.get(dimension, {}).get(term.slug)
            if target != 0 and not (skip_positive and target is not None):
                kept[term.slug] = term.weight
        per_tag = case(kept, value=tag.term, else_=0.0) if kept else literal(0.0)
        in_dimension = case((tag.dimension == dimension, per_tag), else_=0.0)
        product = product * func.coalesce(func.sum(in_dimension), 0.0)
    return product
