"""Drafts, revisions and review: what writers submit and editors compare and decide on.

A draft comes from a form (title, summary, Markdown), a `.md` upload, or the API; an upload is
checked by the same parser as ingest. Planning keys in an uploaded file (slug, status, dates,
assignee, brief) are left to the editor and ignored; the rest of the file is the draft.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from editorial import clock
from editorial.db import names_a_row
from editorial.markdown import count_words, reading_minutes, render_markdown
from editorial.models import DIMENSIONS, Piece, ReviewNote, Revision, Status, User
from editorial.plaindata import control_character
from editorial.snapshot import BRIEF, FIELD_KEYS, SPELLINGS, as_markdown
from editorial.source import InvalidSource, parse_source
from editorial.taxonomy import Taxonomy
from editorial.workflow import (
    Forbidden,
    InvalidInput,
    TransitionRefused,
    add_note,
    allowed_transitions,
    check_version,
    is_editor,
    load,
    record,
    set_terms,
    visible,
)

WRITABLE = frozenset({Status.PLANNED, Status.DRAFT})
SUBMITTABLE = WRITABLE | {Status.REVIEW}  # a draft sent for review ends up in review
REVIEWED = ("approval", "changes")
# What a form or the API may send; a file (ingested or uploaded) may hold longer ones, which the
# form then shows and sends back, so the form's own check must name the field.
LONGEST = {"title": 300, "summary": 2000}


@dataclass
class Draft:
    """What a writer submits: text, and from a file also terms and extra front matter."""

    body: str
    title: str | None = None
    summary: str | None = None
    author: str | None = None
    terms: dict[str, list[str]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def normalise_body(text: str) -> str:
    """Unix line ends and no leading blank lines, as a file would be read back."""
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n")


def draft_from_form(title: str | None, summary: str | None, body: str) -> Draft:
    """A draft from form or JSON fields; the title may be left as it is but not emptied."""
    if title is not None and not title.strip():
        raise InvalidInput({"title": "a piece needs a title"})
    fields = {"title": title or "", "summary": summary or "", "body": body}
    errors = {key: problem for key, text in fields.items() if (problem := control_character(text))}
    errors |= {
        key: f"{len(fields[key])} characters, more than {limit}; shorten it"
        for key, limit in LONGEST.items()
        if len(fields[key]) > limit
    }
    if errors:
        raise InvalidInput(errors)
    clean = (summary or "").strip() if summary is not None else None
    return Draft(normalise_body(body), title.strip() if title else None, clean)


def draft_from_file(name: str, raw: bytes, taxonomy: Taxonomy, limit: int) -> Draft:
    """A draft from an uploaded Markdown file, checked exactly as ingest checks files."""
    if not name.lower().endswith(".md"):  # the form's file picker offers "Draft.MD" too
        raise InvalidInput({"file": f"'{name}' is not a .md file; upload Markdown"})
    if len(raw) > limit:
        raise InvalidInput({"file": f"the file is over {limit // 1024} KiB; split or trim it"})
    try:
        data = parse_source(name, raw, taxonomy)
    except InvalidSource as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            key = error.field or "file"
            where = f"line {error.line}: " if error.line else ""
            errors[key] = "; ".join(filter(None, [errors.get(key), where + error.message]))
        raise InvalidInput(errors) from exc
    terms: dict[str, list[str]] = {}
    for dimension, term in data.terms:
        terms.setdefault(dimension, []).append(term)
    ignored = set(FIELD_KEYS) | SPELLINGS | set(DIMENSIONS) | {BRIEF}
    extras = {k: v for k, v in data.front_matter.items() if k not in ignored}
    return Draft(data.body, data.title, data.summary, data.author, terms, extras)


def submit_draft(
    session: Session,
    user: User | None,
    slug: str,
    draft: Draft,
    base_version: int,
    origin: str,
    *,
    for_review: bool = False,
) -> Piece:
    """Store a draft as a new revision; a planned piece becomes a draft, and `for_review`
    sends it to the editor in the same step."""
    piece = load(session, user, slug)
    assert user is not None
    if not writable(user, piece):
        raise Forbidden(
            f"the piece is {piece.status}; you can write again when changes are requested"
        )
    check_version(piece, base_version)
    if for_review and piece.status not in SUBMITTABLE:
        raise TransitionRefused(piece.status, Status.REVIEW, allowed_transitions(user, piece))
    _apply(session, piece, draft)
    if piece.status == Status.PLANNED:
        piece.status = Status.DRAFT
    if for_review and piece.status == Status.DRAFT:
        piece.status = Status.REVIEW
    note = "draft submitted for review" if piece.status == Status.REVIEW else "draft saved"
    revision = record(session, piece, user.email, origin, note)
    if for_review:
        add_note(session, user, piece, "", "submitted", revision.number)
    return piece


def writable(user: User | None, piece: Piece) -> bool:
    """Whether this person may store a draft of `piece` now: an editor always, its writer while
    it is planned or a draft (not while the editor has it)."""
    return visible(user, piece) and (is_editor(user) or piece.status in WRITABLE)


def _apply(session: Session, piece: Piece, draft: Draft) -> None:
    shown = (piece.body, piece.title, piece.summary, piece.author)
    piece.body = draft.body
    piece.html = render_markdown(draft.body)
    piece.word_count = count_words(draft.body)
    piece.reading_minutes = reading_minutes(piece.word_count)
    if draft.title:
        piece.title = draft.title
    if draft.summary is not None:
        piece.summary = draft.summary
    if draft.author:
        piece.author = draft.author
    if draft.extras:
        piece.front_matter = dict(piece.front_matter or {}) | draft.extras
    if draft.terms:
        set_terms(session, piece, draft.terms)
        if "format" in draft.terms:
            piece.format = draft.terms["format"][0]
    if (piece.body, piece.title, piece.summary, piece.author) != shown:
        piece.modified_at = clock.now()  # what readers see has changed


def preview(body: str) -> str:
    """The HTML a draft body renders to (the same renderer as published pages)."""
    return render_markdown(normalise_body(body))


def revisions(session: Session, user: User | None, slug: str) -> list[Revision]:
    """Every revision of a piece, oldest first."""
    piece = load(session, user, slug)
    statement = select(Revision).where(Revision.piece_id == piece.id).order_by(Revision.number)
    return list(session.exec(statement))


def revision_text(revision: Revision) -> str:
    """A revision as the Markdown file it stands for."""
    return as_markdown(revision.front_matter, revision.body)


def diff(session: Session, user: User | None, slug: str, old: int, new: int) -> str:
    """A unified diff between two revisions of a piece (as Markdown files)."""
    piece = load(session, user, slug)
    numbers = [n for n in (old, new) if names_a_row(n)]
    statement = select(Revision).where(
        Revision.piece_id == piece.id, col(Revision.number).in_(numbers)
    )
    found = {r.number: r for r in session.exec(statement)}
    missing = {"from": old, "to": new}
    errors = {k: f"no revision {n} of '{slug}'" for k, n in missing.items() if n not in found}
    if errors:
        raise InvalidInput(errors)
    lines = difflib.unified_diff(
        revision_text(found[old]).splitlines(keepends=True),
        revision_text(found[new]).splitlines(keepends=True),
        fromfile=f"{slug} revision {old}",
        tofile=f"{slug} revision {new}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def last_reviewed(session: Session, piece: Piece) -> int | None:
    """The revision the editor last decided on (approved or sent back), if any."""
    statement = (
        select(ReviewNote.revision_number)
        .where(ReviewNote.piece_id == piece.id, col(ReviewNote.kind).in_(REVIEWED))
        .order_by(col(ReviewNote.id).desc())
    )
    return session.exec(statement).first()


def first_revision(session: Session, piece: Piece) -> int:
    """The number of the piece's oldest revision."""
    statement = select(Revision.number).where(Revision.piece_id == piece.id)
    return session.exec(statement.order_by(Revision.number)).first() or piece.version


@dataclass
class NoteView:
    """A review note with its writer's name."""

    id: int
    kind: str
    body: str
    author: str
    revision_number: int | None
    created_at: Any


def notes(session: Session, user: User | None, slug: str) -> list[NoteView]:
    """The review thread of a piece, oldest first (internal: never on public pages)."""
    piece = load(session, user, slug)
    statement = (
        select(ReviewNote, User.name)
        .join(User, isouter=True)
        .where(ReviewNote.piece_id == piece.id)
        .order_by(col(ReviewNote.id))
    )
    return [
        NoteView(
            n.id or 0, n.kind, n.body, name or "a former member", n.revision_number, n.created_at
        )
        for n, name in session.exec(statement)
    ]


def post_note(session: Session, user: User | None, slug: str, body: str) -> ReviewNote:
    """Add a note to a piece's review thread."""
    return add_note(session, user, load(session, user, slug), body)


def review_queue(session: Session, user: User | None) -> list[Piece]:
    """Pieces waiting for an editor's review, longest waiting first."""
    if not is_editor(user):
        raise Forbidden("only editors review")
    statement = select(Piece).where(Piece.status == Status.REVIEW).order_by(Piece.slug)
    pieces = list(session.exec(statement))
    sent = submitted_at(session, pieces)
    return sorted(pieces, key=lambda piece: sent[piece.id or 0])


def submitted_at(session: Session, pieces: list[Piece]) -> dict[int, datetime]:
    """When each piece was last sent for review: its latest "submitted" note, or for a piece
    that came in review from a file, its last change. A later change (a planning edit by the
    editor) is not a new submission."""
    statement = (
        select(ReviewNote.piece_id, func.max(ReviewNote.created_at))
        .where(ReviewNote.kind == "submitted", col(ReviewNote.piece_id).in_([p.id for p in pieces]))
        .group_by(col(ReviewNote.piece_id))
    )
    notes = {piece_id: clock.to_utc(moment) for piece_id, moment in session.exec(statement)}
    return {p.id or 0: notes.get(p.id or 0) or clock.to_utc(p.updated_at) for p in pieces}


def assignments(session: Session, user: User) -> list[Piece]:
    """The pieces assigned to `user` that are not archived, soonest due first."""
    statement = (
        select(Piece)
        .where(Piece.assignee == user.email, Piece.status != Status.ARCHIVED)
        .order_by(col(Piece.due_at).is_(None), col(Piece.due_at), col(Piece.slug))
    )
    return [p for p in session.exec(statement) if visible(user, p)]


def pieces_for(session: Session, user: User, status: str | None, limit: int) -> list[Piece]:
    """Pieces in the workflow, recently changed first: all for editors, own for contributors."""
    statement = select(Piece).order_by(col(Piece.updated_at).desc(), col(Piece.slug)).limit(limit)
    if not is_editor(user):
        statement = statement.where(Piece.assignee == user.email)
    if status:
        statement = statement.where(Piece.status == status)
    return list(session.exec(statement))
