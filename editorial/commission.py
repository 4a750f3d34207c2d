"""Commissioning: one recommendation of the gap report becomes one planned piece on the calendar,
tagged for its cell, with a revision saying who asked for it and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from editorial import clock
from editorial.coverage import CoverageError, Window, resolve_term
from editorial.gaps import (
    Core,
    first_open_week,
    horizon_weeks,
    label,
    suggested_title,
    week_load,
)
from editorial.models import COVERAGE_DIMENSIONS as AXES
from editorial.models import Piece, PieceTerm, Revision, Status
from editorial.plaindata import control_character
from editorial.slugs import slugify
from editorial.snapshot import BRIEF, front_matter_of
from editorial.taxonomy import Taxonomy

ORIGINS = ("api", "form")
SLUG_LENGTH = 80
PUBLISH_HOUR = time(9)  # in the site's time zone
ATTEMPTS = 3  # two editors commissioning the same title at once: the loser takes the next slug


@dataclass(frozen=True)
class CommissionRequest:
    """What to commission: the cell, and optionally a title, a core piece to vary, a week."""

    audience: str
    stage: str
    topic: str
    title: str | None = None
    derived_from: str | None = None
    week: date | None = None


def commission(
    session: Session,
    taxonomy: Taxonomy,
    request: CommissionRequest,
    *,
    actor: str,
    origin: str = "api",
    as_of: datetime | None = None,
    tz: tzinfo = UTC,
) -> Piece:
    """Create exactly one planned piece for the cell, in the requested or first open week (weeks
    and the publish hour in the site's time zone `tz`)."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    asked = (request.audience, request.stage, request.topic)
    cell = tuple(resolve_term(taxonomy, d, v) for d, v in zip(AXES, asked, strict=True))
    core = find_core(session, request.derived_from) if request.derived_from else None
    window = Window.of(taxonomy, as_of)
    week = _week(session, taxonomy, window, request.week, tz)
    title = (request.title or "").strip() or suggested_title(taxonomy, *cell, core)
    if problem := control_character(title):
        raise CoverageError(f"title: {problem}")
    publish_at = clock.to_utc(datetime.combine(week, PUBLISH_HOUR, tz))
    attempts = 0
    while True:
        piece = _planned_piece(session, taxonomy, cell, title, core, publish_at, window)
        try:
            _store(session, piece, cell, core, actor, origin)
            return piece
        except IntegrityError:
            session.rollback()
            attempts += 1
            if attempts == ATTEMPTS:
                raise


def find_core(session: Session, slug: str) -> Core:
    """The piece a variant will be derived from; it must exist and not be a variant itself."""
    row = session.exec(
        select(Piece.slug, Piece.title, Piece.format, Piece.derived_from).where(Piece.slug == slug)
    ).first()
    if row is None:
        raise CoverageError(f"derived_from: no piece has the slug '{slug}'; check the slug")
    if row[3] is not None:
        raise CoverageError(
            f"derived_from: '{slug}' is itself a variant of '{row[3]}'; derive from '{row[3]}'"
        )
    return Core(row[0], row[1], row[2])


def _week(
    session: Session, taxonomy: Taxonomy, window: Window, wanted: date | None, tz: tzinfo
) -> date:
    """The Monday of the requested week, or of the first week with room (else the least busy)."""
    if wanted is not None:
        try:
            monday = clock.in_range(wanted) - timedelta(days=wanted.weekday())
        except clock.OutOfRange as exc:
            raise CoverageError(f"week {exc}") from None
        today = window.as_of.astimezone(tz).date()
        if monday < today - timedelta(days=today.weekday()):
            raise CoverageError(f"week {wanted.isoformat()} is in the past; choose a later week")
        return monday
    load = week_load(session, horizon_weeks(taxonomy, window, tz), tz)
    open_week = first_open_week(load, taxonomy.targets.pieces_per_week)
    return open_week or min(load, key=lambda week: (load[week], week))


def _planned_piece(
    session: Session,
    taxonomy: Taxonomy,
    cell: tuple[str, ...],
    title: str,
    core: Core | None,
    publish_at: datetime,
    window: Window,
) -> Piece:
    """The new piece: dated `publish_at`, due a week before, with a brief for its writer."""
    slug = unique_slug(session, slugify(title)[:SLUG_LENGTH].strip("-") or "commission")
    piece = Piece(
        slug=slug,
        title=title,
        status=Status.PLANNED,
        format=core.format if core else None,
        publish_at=publish_at,
        due_at=max(publish_at - timedelta(weeks=1), window.as_of),
        derived_from=core.slug if core else None,
    )
    terms = cell_terms(cell, core)
    piece.front_matter = front_matter_of(piece, terms) | {BRIEF: _brief(taxonomy, cell, core)}
    return piece


def cell_terms(cell: tuple[str, ...], core: Core | None) -> dict[str, list[str]]:
    """The new piece's terms: the cell's, and the core piece's format."""
    terms = {d: [t] for d, t in zip(AXES, cell, strict=True)}
    if core and core.format:
        terms["format"] = [core.format]
    return terms


def _store(
    session: Session,
    piece: Piece,
    cell: tuple[str, ...],
    core: Core | None,
    actor: str,
    origin: str,
) -> None:
    """Write the piece, its terms and its first revision in one transaction."""
    session.add(piece)
    session.flush()
    assert piece.id is not None
    session.add_all(
        PieceTerm(piece_id=piece.id, dimension=d, term=t)
        for d, terms in cell_terms(cell, core).items()
        for t in terms
    )
    session.add(
        Revision(
            piece_id=piece.id,
            number=piece.version,
            actor=actor,
            origin=origin,
            title=piece.title,
            front_matter=piece.front_matter,
            body=piece.body,
            note="commissioned from the coverage-gap report",
        )
    )
    session.commit()


def _brief(taxonomy: Taxonomy, cell: tuple[str, ...], core: Core | None) -> str:
    labels = [label(taxonomy, d, t) for d, t in zip(AXES, cell, strict=True)]
    # Worded so that no article has to agree with a label ("A Awareness-stage piece").
    brief = f"A piece for the {labels[1]} stage, on {labels[2]}, for {labels[0]}."
    if core is not None:
        brief += f" Personalise '{core.title}' (/pieces/{core.slug}/) for this audience."
    return brief


def unique_slug(session: Session, base: str) -> str:
    """`base`, or `base-2`, `base-3` … whichever no piece has yet."""
    taken = set(
        session.exec(
            select(Piece.slug).where(or_(Piece.slug == base, col(Piece.slug).like(f"{base}-%")))
        )
    )
    number = 1
    slug = base
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug
