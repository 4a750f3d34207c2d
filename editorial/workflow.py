"""The lifecycle of a piece: who may move it where, with every change kept as a revision.

Every write names the version it was based on; a stale one raises Conflict with the current
piece instead of overwriting it. A contributor sees only the pieces assigned to them: anything
else is NotFound, so that its existence is not revealed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from editorial import clock
from editorial.markdown import reading_minutes
from editorial.models import DIMENSIONS, Piece, PieceTerm, ReviewNote, Revision, Role, Status, User
from editorial.pieces import terms_of
from editorial.plaindata import control_character
from editorial.slugs import slugify
from editorial.snapshot import BRIEF, front_matter_of
from editorial.taxonomy import Taxonomy

ORIGINS = frozenset({"file", "form", "upload", "api"})
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.IDEA: (Status.PLANNED, Status.ARCHIVED),
    Status.PLANNED: (Status.DRAFT, Status.ARCHIVED),
    Status.DRAFT: (Status.REVIEW,),
    Status.REVIEW: (Status.APPROVED, Status.DRAFT),
    Status.APPROVED: (Status.SCHEDULED,),
    Status.SCHEDULED: (Status.PUBLISHED, Status.APPROVED),
    Status.PUBLISHED: (Status.ARCHIVED,),
    Status.ARCHIVED: (),
}
CONTRIBUTOR_MOVES = frozenset({(Status.PLANNED, Status.DRAFT), (Status.DRAFT, Status.REVIEW)})
PLANNING_FIELDS = frozenset(
    {"title", "summary", *DIMENSIONS, "assignee", "due_at", "publish_at", "brief"}
)
MOMENTS = ("due_at", "publish_at")


class WorkflowError(Exception):
    """A request the workflow refuses; the message says what to do instead."""


class NotFound(WorkflowError):
    """No piece at that slug that this person may see."""


class Forbidden(WorkflowError):
    """The person may see the piece but not do this to it."""


class InvalidInput(WorkflowError):
    """Values that cannot be stored, with a message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(WorkflowError):
    """The write was based on an older version; `current` is the piece as it is now."""

    def __init__(self, current: Piece, base_version: int) -> None:
        super().__init__(
            f"'{current.slug}' changed since version {base_version} (now {current.version}); "
            "reload it, reapply your change, and send it with the new version"
        )
        self.current = current


class TransitionRefused(WorkflowError):
    """A status change this person may not make now; `allowed` lists the ones they may."""

    def __init__(self, status: str, wanted: str, allowed: list[str]) -> None:
        choices = ", ".join(allowed) or "none"
        super().__init__(f"cannot move from {status} to {wanted}; allowed now: {choices}")
        self.allowed = allowed


def is_editor(user: User | None) -> bool:
    """Whether `user` is a signed-in editor."""
    return user is not None and user.role == Role.EDITOR


def visible(user: User | None, piece: Piece) -> bool:
    """Editors see every piece; a contributor only those assigned to them; anonymous none."""
    if user is None:
        return False
    return is_editor(user) or (piece.assignee is not None and piece.assignee == user.email)


def load(session: Session, user: User | None, slug: str) -> Piece:
    """The piece at `slug` if this person may work on it; NotFound otherwise."""
    piece = session.exec(select(Piece).where(Piece.slug == slug)).first()
    if piece is None or not visible(user, piece):
        raise NotFound(f"no piece '{slug}' among yours")
    return piece


def allowed_transitions(user: User | None, piece: Piece) -> list[str]:
    """The statuses this person may move `piece` to now."""
    if not visible(user, piece):
        return []
    targets = TRANSITIONS.get(piece.status, ())
    if is_editor(user):
        return list(targets)
    return [t for t in targets if (piece.status, t) in CONTRIBUTOR_MOVES]


def check_version(piece: Piece, base_version: int) -> None:
    """Conflict unless the write is based on the piece's current version."""
    if base_version != piece.version:
        raise Conflict(piece, base_version)


def claim(session: Session, piece: Piece) -> None:
    """Make sure no one else has changed the piece since it was loaded; Conflict otherwise.

    The check and the claim are one UPDATE guarded by the version this write started from, so
    two writers that loaded the same version cannot both win: on PostgreSQL the second waits
    for the first to commit and then finds the version gone; SQLite runs one writer at a time.
    A refused write is rolled back, and `piece` then reads as it is in the store."""
    started = piece.version
    session.flush()  # this write's own changes first, under the same row lock
    claimed = session.execute(
        update(Piece)
        .where(col(Piece.id) == piece.id, col(Piece.version) == started)
        .values(version=started)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict(piece, started)


def record(
    session: Session, piece: Piece, actor: str, origin: str, note: str | None = None
) -> Revision:
    """Bump the version and store the piece's full snapshot as a new revision."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    assert piece.id is not None
    claim(session, piece)
    stamp = clock.now()
    piece.version += 1
    piece.updated_at = stamp
    piece.front_matter = front_matter_of(piece, terms_of(session, [piece.id]).get(piece.id, {}))
    revision = Revision(
        piece_id=piece.id,
        number=piece.version,
        created_at=stamp,
        actor=actor,
        origin=origin,
        title=piece.title,
        front_matter=piece.front_matter,
        body=piece.body,
        note=note,
    )
    session.add(piece)
    session.add(revision)
    session.flush()
    return revision


def transition(
    session: Session,
    user: User | None,
    slug: str,
    to_status: str,
    base_version: int,
    origin: str,
    note: str | None = None,
    *,
    publish_at: datetime | date | str | None = None,
) -> Piece:
    """Move a piece to `to_status`; requesting changes needs a note, scheduling a date."""
    piece = load(session, user, slug)
    assert user is not None
    allowed = allowed_transitions(user, piece)
    if to_status not in allowed:
        raise TransitionRefused(piece.status, to_status, allowed)
    check_version(piece, base_version)
    if publish_at is not None:
        errors: dict[str, str] = {}
        piece.publish_at = _moments({"publish_at": publish_at}, errors).get("publish_at")
        if errors:
            raise InvalidInput(errors)
    _check_transition(piece, to_status, note)
    kind = _note_kind(piece.status, to_status)
    piece.status = to_status
    revision = record(session, piece, user.email, origin, note or f"moved to {to_status}")
    if kind:
        add_note(session, user, piece, note or "", kind, revision.number)
    return piece


def _check_transition(piece: Piece, to_status: str, note: str | None) -> None:
    if note and (problem := control_character(note)):
        raise InvalidInput({"note": problem})
    if piece.status == Status.REVIEW and to_status == Status.DRAFT and not (note or "").strip():
        raise InvalidInput({"note": "say what should change; the writer reads this note"})
    if to_status == Status.SCHEDULED:
        _check_schedule(piece.publish_at)
    if to_status == Status.PUBLISHED:
        _publish_now(piece)


def _check_schedule(moment: datetime | None) -> None:
    """A piece is scheduled for a moment to come: one that has passed would publish it at once
    while the workspace still read 'scheduled' (a late plan's date, kept by one click)."""
    if moment is None:
        raise InvalidInput({"publish_at": "give the date and time the piece goes public"})
    moment = clock.to_utc(moment)
    if moment <= clock.now():
        when = moment.strftime("%Y-%m-%d %H:%M UTC")
        raise InvalidInput(
            {"publish_at": f"{when} has passed; choose a later moment, or publish the piece now"}
        )


def _publish_now(piece: Piece) -> None:
    """Publishing goes out now: a piece without a date, or scheduled for later, is dated now
    (a published piece with a later date would stay hidden until then)."""
    now = clock.now()
    if piece.publish_at is None or clock.to_utc(piece.publish_at) > now:
        piece.publish_at = now


def _note_kind(status: str, to_status: str) -> str | None:
    """Which review note a move leaves: the reviewer's decision, or the writer's submission."""
    if status == Status.REVIEW:
        return "approval" if to_status == Status.APPROVED else "changes"
    return "submitted" if to_status == Status.REVIEW else None


def add_note(
    session: Session,
    user: User | None,
    piece: Piece,
    body: str,
    kind: str = "note",
    revision_number: int | None = None,
) -> ReviewNote:
    """An internal note on `piece` (never public)."""
    if not visible(user, piece):
        raise NotFound(f"no piece '{piece.slug}' among yours")
    assert user is not None and piece.id is not None
    if kind == "note" and not body.strip():
        raise InvalidInput({"body": "write the note before sending it"})
    if problem := control_character(body):
        raise InvalidInput({"body": problem})
    note = ReviewNote(
        piece_id=piece.id,
        user_id=user.id,
        revision_number=revision_number or piece.version,
        kind=kind,
        body=body.strip(),
        created_at=clock.now(),
    )
    session.add(note)
    session.flush()
    return note


def update_piece(
    session: Session,
    user: User | None,
    slug: str,
    changes: dict[str, Any],
    base_version: int,
    origin: str,
    *,
    taxonomy: Taxonomy | None = None,
) -> Piece:
    """Change planning fields (editors only); term changes need the taxonomy to check against."""
    piece = load(session, user, slug)
    assert user is not None
    if not is_editor(user):
        raise Forbidden("only editors change planning fields; ask your editor")
    unknown = sorted(set(changes) - PLANNING_FIELDS)
    if unknown:
        raise InvalidInput({k: "not a planning field" for k in unknown})
    check_version(piece, base_version)
    values = validate_planning(session, changes, taxonomy)
    if not _differs(session, piece, values):
        return piece  # nothing to change: no revision, and the version stays
    if piece.status == Status.SCHEDULED and "publish_at" in values:
        current = piece.publish_at and clock.to_utc(piece.publish_at)
        if values["publish_at"] != current:  # a form sends the date it showed, moved or not
            _check_schedule(values["publish_at"])
    apply_planning(session, piece, values)
    record(session, piece, user.email, origin, "planning: " + ", ".join(sorted(changes)))
    return piece


def _differs(session: Session, piece: Piece, values: dict[str, Any]) -> bool:
    """Whether checked planning `values` would change `piece`; terms compare as sets, and an
    empty text is no text."""
    assert piece.id is not None
    terms = terms_of(session, [piece.id]).get(piece.id, {})
    for key, value in values.items():
        if key in DIMENSIONS:
            current: Any = sorted(terms.get(key, []))
            value = sorted(value)
        elif key == BRIEF:
            current = (piece.front_matter or {}).get(BRIEF)
        else:
            current = getattr(piece, key)
        if key in MOMENTS and current is not None:  # SQLite gives the time back without a zone
            current = clock.to_utc(current)
        if (value or None) != (current or None):
            return True
    formats = values.get("format")
    return formats is not None and (formats[0] if formats else None) != piece.format


def validate_planning(
    session: Session, changes: dict[str, Any], taxonomy: Taxonomy | None
) -> dict[str, Any]:
    """Checked and normalised planning values; InvalidInput names every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = _moments(changes, errors)
    for key in ("title", "summary", "brief"):
        if key in changes:
            values[key] = str(changes[key] or "").strip()
            if problem := control_character(values[key]):
                errors[key] = problem
    if "title" in values and not values["title"]:
        errors["title"] = "a piece needs a title"
    if "assignee" in changes:
        values["assignee"] = _assignee(session, changes["assignee"], errors)
    for dimension in DIMENSIONS:
        if dimension in changes:
            values[dimension] = _terms(taxonomy, dimension, changes[dimension], errors)
    if errors:
        raise InvalidInput(errors)
    return values


def _moments(changes: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in MOMENTS:
        if key not in changes:
            continue
        value = changes[key]
        try:
            values[key] = _moment(value)
        except clock.OutOfRange as exc:
            errors[key] = f"the date {exc}"
        except ValueError:
            errors[key] = f"bad date {value!r}; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM"
    return values


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date | str):
        return clock.given_moment(value)
    raise ValueError(value)


def _assignee(session: Session, value: Any, errors: dict[str, str]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    email = str(value).strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.active:
        errors["assignee"] = f"no active team member has the address {email}"
    return email


def _terms(
    taxonomy: Taxonomy | None, dimension: str, value: Any, errors: dict[str, str]
) -> list[str]:
    if taxonomy is None:
        raise ValueError("changing terms needs the taxonomy")
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in (str(i).strip() for i in items if i is not None and str(i).strip()):
        slug = taxonomy.resolve(dimension, item)
        if slug is None:
            closest = taxonomy.closest(dimension, item)
            hint = f"; did you mean '{closest}'?" if closest else ""
            errors[dimension] = f"unknown {dimension} '{item}'{hint}"
        elif slug not in found:
            found.append(slug)
    return found


def apply_planning(session: Session, piece: Piece, values: dict[str, Any]) -> None:
    """Write checked planning values onto `piece` and its terms."""
    if any(key in values and values[key] != getattr(piece, key) for key in ("title", "summary")):
        piece.modified_at = clock.now()  # readers see the new title or summary
    for key in ("title", "summary", "assignee", "due_at", "publish_at"):
        if key in values:
            setattr(piece, key, values[key])
    if "brief" in values:
        meta = dict(piece.front_matter or {})
        meta.pop(BRIEF, None)
        piece.front_matter = meta | ({BRIEF: values[BRIEF]} if values[BRIEF] else {})
    dimensions = [d for d in DIMENSIONS if d in values]
    if dimensions:
        set_terms(session, piece, {d: values[d] for d in dimensions})
    if "format" in values:
        piece.format = values["format"][0] if values["format"] else None


def set_terms(session: Session, piece: Piece, terms: dict[str, list[str]]) -> None:
    """Replace the piece's terms on the given dimensions."""
    assert piece.id is not None
    for dimension, slugs in terms.items():
        session.exec(
            delete(PieceTerm).where(
                col(PieceTerm.piece_id) == piece.id, col(PieceTerm.dimension) == dimension
            )
        )
        session.add_all(PieceTerm(piece_id=piece.id, dimension=dimension, term=t) for t in slugs)
    session.flush()


def unique_slug(session: Session, title: str) -> str:
    """A slug made from `title`, numbered when already taken."""
    base = slugify(title)[:180] or "piece"
    taken = set(
        session.exec(
            select(Piece.slug).where(
                (col(Piece.slug) == base) | col(Piece.slug).startswith(base + "-")
            )
        )
    )
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def plan_piece(
    session: Session,
    user: User | None,
    fields: dict[str, Any],
    origin: str,
    *,
    taxonomy: Taxonomy | None = None,
) -> Piece:
    """A new piece from planning fields (editors only), planned unless `status` says idea."""
    if not is_editor(user):
        raise Forbidden("only editors plan pieces")
    assert user is not None
    unknown = sorted(set(fields) - PLANNING_FIELDS - {"status"})
    if unknown:
        raise InvalidInput({k: "not a planning field" for k in unknown})
    values = validate_planning(session, {"title": ""} | fields, taxonomy)
    status = fields.get("status") or Status.PLANNED
    if status not in (Status.IDEA, Status.PLANNED):
        raise InvalidInput({"status": "a new piece is an idea or planned"})
    piece = Piece(slug=unique_slug(session, values["title"]), title=values["title"], status=status)
    piece.version, piece.created_at = 0, clock.now()
    piece.reading_minutes = reading_minutes(0)  # as ingest counts an empty body
    session.add(piece)
    session.flush()
    apply_planning(session, piece, values)
    record(session, piece, user.email, origin, f"planned by {user.email}")
    return piece
