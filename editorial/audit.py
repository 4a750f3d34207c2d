"""The content audit: what readers think, rolled up by audience, stage, topic, format and author.

Averages of few ratings are noise, so every group shows its counts and a Bayesian average that
starts at the prior (settings: `rating_prior_mean`, `rating_prior_weight`) and moves towards the
plain mean as ratings come in. Only pieces public now are counted."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import Select, String, Subquery, func, literal, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from editorial import clock
from editorial.feedback import bayesian
from editorial.models import DIMENSIONS, Comment, CommentStatus, Piece, PieceTerm, Rating
from editorial.pieces import public_filter
from editorial.settings import Settings
from editorial.slugs import author_slug
from editorial.taxonomy import Taxonomy

GROUPINGS = (*DIMENSIONS, "author")
SUBJECT_AREAS = DIMENSIONS  # what "best and worst" ranks; authors are people, not subjects
RANKED = 3
COLUMNS = ("dimension", "term", "label", "pieces", "ratings", "mean", "bayesian", "comments")


@dataclass
class Group:
    """One audience, stage, topic, format or author, and what readers made of its pieces."""

    dimension: str
    term: str
    label: str
    pieces: int = 0
    ratings: int = 0
    mean: float | None = None
    bayesian: float | None = None
    comments: int = 0


@dataclass
class Audit:
    """Every group, the best and worst subject areas, and the prior the averages start from."""

    groups: list[Group]
    best: list[Group] = field(default_factory=list)
    worst: list[Group] = field(default_factory=list)
    prior_mean: float = 3.0
    prior_weight: float = 5.0
    min_ratings: int = 5

    def as_json(self) -> dict:
        return {
            "prior": {"mean": self.prior_mean, "weight": self.prior_weight},
            "min_ratings": self.min_ratings,
            "groups": [asdict(g) for g in self.groups],
            "best": [asdict(g) for g in self.best],
            "worst": [asdict(g) for g in self.worst],
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for g in self.groups:
            writer.writerow([_cell(getattr(g, name)) for name in COLUMNS])
        return out.getvalue()


def _cell(value: object) -> object:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _tags(at: datetime) -> Select:
    """(piece_id, dimension, term) of every public piece: its terms and its author."""
    public = select(Piece.id).where(public_filter(at))
    terms = select(
        col(PieceTerm.piece_id).label("piece_id"),
        col(PieceTerm.dimension).label("dimension"),
        col(PieceTerm.term).label("term"),
    ).where(col(PieceTerm.piece_id).in_(public), col(PieceTerm.dimension).in_(DIMENSIONS))
    authors = select(
        col(Piece.id).label("piece_id"),
        literal("author", String).label("dimension"),
        col(Piece.author).label("term"),
    ).where(public_filter(at), col(Piece.author).is_not(None))
    return union_all(terms, authors).subquery("tags")


def _shown_comments() -> Subquery:
    """(piece_id) of every comment readers see: approved, and in an approved thread. A reply
    stays approved when the comment it answers is rejected later, but pages hide it then."""
    thread = aliased(Comment)
    return (
        select(col(Comment.piece_id).label("piece_id"))
        .outerjoin(thread, col(Comment.parent_id) == thread.id)
        .where(Comment.status == CommentStatus.APPROVED)
        .where(or_(col(Comment.parent_id).is_(None), thread.status == CommentStatus.APPROVED))
        .subquery("shown")
    )


def _grouped(session: Session, at: datetime) -> dict[tuple[str, str], list]:
    """Pieces, ratings, star sum and approved comments per (dimension, term): three GROUP BYs."""
    tags = _tags(at)
    key = (tags.c.dimension, tags.c.term)
    found: dict[tuple[str, str], list] = {}
    for d, t, n in session.execute(select(*key, func.count()).group_by(*key)):
        found[d, t] = [n, 0, 0, 0]
    rated = (
        select(*key, func.count(), func.sum(Rating.stars))
        .join(Rating, col(Rating.piece_id) == tags.c.piece_id)
        .group_by(*key)
    )
    for d, t, n, total in session.execute(rated):
        found[d, t][1:3] = [n, int(total or 0)]
    shown = _shown_comments()
    commented = (
        select(*key, func.count()).join(shown, shown.c.piece_id == tags.c.piece_id).group_by(*key)
    )
    for d, t, n in session.execute(commented):
        found[d, t][3] = n
    return found


def _by_author(
    found: dict[tuple[str, str], list],
) -> tuple[dict[tuple[str, str], list], dict[str, str]]:
    """The groups with an author's spellings of one name ("Dana Reyes", "dana reyes") as one
    author, as on the site: keyed by the slug of their page, and named as most of their pieces
    name them (the first in order among equals)."""
    merged: dict[tuple[str, str], list] = {}
    spellings: dict[str, Counter[str]] = {}
    for (dimension, term), counts in found.items():
        if dimension == "author":
            slug = author_slug(term)
            spellings.setdefault(slug, Counter())[term] += counts[0]
            dimension, term = "author", slug
        merged[dimension, term] = [
            a + b for a, b in zip(merged.get((dimension, term), [0] * 4), counts, strict=True)
        ]
    names = {slug: min(c, key=lambda name: (-c[name], name)) for slug, c in spellings.items()}
    return merged, names


def audit(
    session: Session,
    settings: Settings,
    taxonomy: Taxonomy | None = None,
    at: datetime | None = None,
) -> Audit:
    """Reader ratings and comments rolled up by every grouping, best and worst subject areas."""
    groups = []
    found, names = _by_author(_grouped(session, at or clock.now()))
    for (dimension, term), (pieces, ratings, total, comments) in found.items():
        if dimension == "author":
            label = names[term]
        else:
            declared = taxonomy.term(dimension, term) if taxonomy else None
            label = declared.label if declared else term
        groups.append(
            Group(
                dimension,
                term,
                label,
                pieces,
                ratings,
                round(total / ratings, 3) if ratings else None,
                bayesian(ratings, total, settings) if ratings else None,
                comments,
            )
        )
    order = {name: i for i, name in enumerate(GROUPINGS)}
    groups.sort(key=lambda g: (order[g.dimension], g.term))
    best, worst = rank(groups, settings.audit_min_ratings)
    return Audit(
        groups,
        best,
        worst,
        settings.rating_prior_mean,
        settings.rating_prior_weight,
        settings.audit_min_ratings,
    )


def rank(groups: list[Group], min_ratings: int) -> tuple[list[Group], list[Group]]:
    """The best and worst subject areas by Bayesian average among those with enough ratings."""
    eligible = [
        g
        for g in groups
        if g.dimension in SUBJECT_AREAS and g.ratings >= min_ratings and g.bayesian is not None
    ]
    eligible.sort(key=lambda g: (-(g.bayesian or 0), -g.ratings, g.dimension, g.term))
    best = eligible[:RANKED]
    rest = eligible[len(best) :]
    worst = sorted(rest, key=lambda g: (g.bayesian or 0, -g.ratings, g.dimension, g.term))
    return best, worst[:RANKED]


@dataclass(frozen=True)
class PieceScore:
    """One public piece's ratings."""

    slug: str
    title: str
    ratings: int
    mean: float
    bayesian: float
    stars: int  # the sum of every rating's stars

    @property
    def reason(self) -> str:
        return f"readers rate it {self.mean:.1f}/5 ({self.ratings} ratings)"


def piece_scores(session: Session, settings: Settings, at: datetime | None = None) -> list:
    """Every rated public piece with its count, mean and Bayesian average, lowest first."""
    statement = (
        select(Piece.slug, Piece.title, func.count(), func.sum(Rating.stars))
        .join(Rating, col(Rating.piece_id) == col(Piece.id))
        .where(public_filter(at or clock.now()))
        .group_by(col(Piece.id), Piece.slug, Piece.title)
    )
    scores = [
        PieceScore(slug, title, n, round(total / n, 3), bayesian(n, total, settings) or 0.0, total)
        for slug, title, n, total in session.exec(statement)
    ]
    return sorted(scores, key=lambda s: (s.bayesian, -s.ratings, s.slug))


def low_rated_query(settings: Settings) -> Select:
    """Ids of pieces with enough ratings whose Bayesian average is below the threshold.

    For the gap report's review queue: `review_queue(..., flags={"low rated": this})`."""
    weight, prior = settings.rating_prior_weight, settings.rating_prior_mean
    count, total = func.count(Rating.id), func.sum(Rating.stars)
    # (weight·prior + total) / (weight + count) < threshold, without a division.
    below = total + weight * prior < settings.low_rating_threshold * (weight + count)
    return (
        select(Rating.piece_id)
        .group_by(col(Rating.piece_id))
        .having(count >= settings.low_rating_min_count, below)
    )


def low_rated_pieces(session: Session, settings: Settings, at: datetime | None = None) -> list:
    """Public pieces readers rate poorly (enough ratings, Bayesian average below threshold)."""
    return [s for s in piece_scores(session, settings, at) if is_low(s.ratings, s.stars, settings)]


def is_low(count: int, stars: int, settings: Settings) -> bool:
    """Whether `count` ratings adding up to `stars` make a low-rated piece (exact, unrounded)."""
    weight, prior = settings.rating_prior_weight, settings.rating_prior_mean
    below = stars + weight * prior < settings.low_rating_threshold * (weight + count)
    return count >= settings.low_rating_min_count and below
