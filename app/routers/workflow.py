"""JSON API of the editorial workflow: planning, drafts, transitions, revisions, review notes.

Bearer tokens (or a dashboard session with its CSRF token). Nothing here is public: anonymous
callers get 404 for every piece, published or not, and 401 on the collections.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.deps import CurrentUser, SessionDep, SettingsDep, SignedInDep
from editorial import drafts, workflow
from editorial.clock import to_utc
from editorial.models import Piece, User
from editorial.pieces import terms_of
from editorial.settings import Settings
from editorial.snapshot import BRIEF
from editorial.taxonomy import Taxonomy, current_taxonomy


class FieldErrors(BaseModel):
    """Why the workflow refused the input: one message, and what is wrong with each field."""

    message: str
    errors: dict[str, str]


class InputRefused(BaseModel):
    """The body of a 422 from the workflow: values it cannot store."""

    detail: FieldErrors


class ShapeError(BaseModel):
    """One of FastAPI's validation errors: where, what, and its kind."""

    loc: list[str | int]
    msg: str
    type: str


class ShapeRefused(BaseModel):
    """The body of a 422 from FastAPI: a request whose shape does not match the route."""

    detail: list[ShapeError]


UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid input: values the workflow refuses (a message per field), or "
        "a request whose shape does not match (FastAPI's validation errors)",
        "model": InputRefused | ShapeRefused,
    }
}
router = APIRouter(prefix="/api/workflow", tags=["workflow"], responses=UNPROCESSABLE)
NOT_FOUND = {404: {"description": "No such piece among yours (anonymous: always)"}}
CONFLICT = {409: {"description": "Stale base_version (with `current`) or refused transition"}}


class WorkflowPiece(BaseModel):
    """A piece as its editor and writer see it, with the moves open to the caller."""

    slug: str
    title: str
    summary: str
    status: str
    version: int
    format: str | None
    author: str | None
    assignee: str | None
    due_at: datetime | None
    publish_at: datetime | None
    brief: str
    terms: dict[str, list[str]]
    body: str
    html: str
    word_count: int
    created_at: datetime
    updated_at: datetime
    allowed_transitions: list[str]


class RevisionInfo(BaseModel):
    """One revision: which, when, who, from where (file, form, upload, api)."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    created_at: datetime
    actor: str
    origin: str
    title: str
    note: str | None
    conflict: bool


class RevisionFull(RevisionInfo):
    """One revision in full, with the Markdown file it stands for."""

    front_matter: dict[str, Any]
    body: str
    markdown: str = ""


class Input(BaseModel):
    """A request body: a field the route does not know is refused by name, never dropped."""

    model_config = ConfigDict(extra="forbid")


class PlanningFields(Input):
    """Planning fields; on PATCH only those sent are changed."""

    title: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=2000)
    audience: list[str] | str | None = None
    stage: list[str] | str | None = None
    topic: list[str] | str | None = None
    format: list[str] | str | None = None
    assignee: str | None = Field(default=None, max_length=320)
    due_at: datetime | date | None = None
    publish_at: datetime | date | None = None
    brief: str | None = Field(default=None, max_length=10_000)


class PlanIn(PlanningFields):
    """A new piece: `title` is required; status `idea` or `planned` (default)."""

    title: str = Field(max_length=300)  # type: ignore[assignment]
    status: str | None = None


class PatchIn(PlanningFields):
    """A partial planning change based on `base_version`."""

    base_version: int


class TransitionIn(Input):
    """A status change; `note` is required when requesting changes, `publish_at` may come
    with `scheduled`."""

    to: str = Field(max_length=20)
    base_version: int
    note: str | None = Field(default=None, max_length=10_000)
    publish_at: datetime | date | None = None


class DraftIn(Input):
    """A draft's text; `submit` also sends it for review."""

    base_version: int
    body: str = Field(max_length=2_000_000)
    title: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=2000)
    submit: bool = False


class NoteIn(Input):
    """A review note."""

    body: str = Field(min_length=1, max_length=10_000)


class PreviewIn(Input):
    """Markdown to preview."""

    body: str = Field(max_length=2_000_000)


def piece_view(session: Session, user: User | None, piece: Piece) -> WorkflowPiece:
    """The API shape of `piece` for `user`."""
    assert piece.id is not None
    data = {k: getattr(piece, k) for k in WorkflowPiece.model_fields if hasattr(piece, k)}
    for key in ("due_at", "publish_at", "created_at", "updated_at"):
        data[key] = to_utc(data[key]) if data[key] else None
    return WorkflowPiece(
        **data,
        brief=str((piece.front_matter or {}).get(BRIEF, "")),
        terms=terms_of(session, [piece.id]).get(piece.id, {}),
        allowed_transitions=workflow.allowed_transitions(user, piece),
    )


def http_error(session: Session, user: User | None, error: workflow.WorkflowError) -> HTTPException:
    """The HTTP answer to a refusal: 404, 403, 422 by field, or 409 with what to do next."""
    message = str(error)
    if isinstance(error, workflow.NotFound):
        return HTTPException(404, "Not Found")
    if isinstance(error, workflow.Forbidden):
        return HTTPException(403, message)
    if isinstance(error, workflow.InvalidInput):
        return HTTPException(422, {"message": message, "errors": error.errors})
    if isinstance(error, workflow.Conflict):
        current = piece_view(session, user, error.current).model_dump(mode="json")
        return HTTPException(409, {"message": message, "current": current})
    assert isinstance(error, workflow.TransitionRefused)
    return HTTPException(409, {"message": message, "allowed": error.allowed})


@contextmanager
def committing(session: Session, user: User | None) -> Iterator[None]:
    """Commit what the block did, or roll it back and answer with the refusal."""
    try:
        yield
    except workflow.WorkflowError as error:
        answer = http_error(session, user, error)
        session.rollback()
        raise answer from error
    session.commit()


def caller(signed_in: SignedInDep) -> User | None:
    """The signed-in user, or None for an anonymous caller."""
    return signed_in.user if signed_in else None


def taxonomy_of(settings: Settings) -> Taxonomy:
    """The site's taxonomy as it is on disk now."""
    return current_taxonomy(settings.content_dir / "taxonomy.yaml")


@router.post("/pieces", status_code=201)
def plan(
    body: PlanIn, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> WorkflowPiece:
    """Plan a new piece (editors)."""
    fields = body.model_dump(exclude_unset=True)
    with committing(session, user):
        piece = workflow.plan_piece(session, user, fields, "api", taxonomy=taxonomy_of(settings))
    return piece_view(session, user, piece)


@router.get("/pieces")
def list_mine(
    session: SessionDep,
    user: CurrentUser,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WorkflowPiece]:
    """Pieces in the workflow, recently changed first: all for editors, own for contributors."""
    pieces = drafts.pieces_for(session, user, status, limit)
    return [piece_view(session, user, p) for p in pieces]


@router.get("/review")
def review_queue(session: SessionDep, user: CurrentUser) -> list[WorkflowPiece]:
    """Pieces waiting for review, longest waiting first (editors)."""
    with committing(session, user):
        pieces = drafts.review_queue(session, user)
    return [piece_view(session, user, p) for p in pieces]


@router.post("/preview")
def preview(body: PreviewIn, _user: CurrentUser) -> dict[str, str]:
    """Render Markdown with the site's renderer, for a draft preview."""
    return {"html": drafts.preview(body.body)}


@router.get("/pieces/{slug}", responses=NOT_FOUND)
def read(slug: str, session: SessionDep, signed_in: SignedInDep) -> WorkflowPiece:
    """One piece with its draft, brief and the moves open to the caller."""
    user = caller(signed_in)
    with committing(session, user):
        piece = workflow.load(session, user, slug)
    return piece_view(session, user, piece)


@router.patch("/pieces/{slug}", responses=NOT_FOUND | CONFLICT)
def patch(
    slug: str, body: PatchIn, session: SessionDep, settings: SettingsDep, signed_in: SignedInDep
) -> WorkflowPiece:
    """Change planning fields (editors): only the fields sent change."""
    user = caller(signed_in)
    changes = body.model_dump(exclude_unset=True, exclude={"base_version"})
    with committing(session, user):
        piece = workflow.update_piece(
            session, user, slug, changes, body.base_version, "api", taxonomy=taxonomy_of(settings)
        )
    return piece_view(session, user, piece)


@router.post("/pieces/{slug}/transition", responses=NOT_FOUND | CONFLICT)
def transition(
    slug: str, body: TransitionIn, session: SessionDep, signed_in: SignedInDep
) -> WorkflowPiece:
    """Move a piece through its lifecycle; a refusal lists the moves allowed."""
    user = caller(signed_in)
    with committing(session, user):
        piece = workflow.transition(
            session,
            user,
            slug,
            body.to,
            body.base_version,
            "api",
            body.note,
            publish_at=body.publish_at,
        )
    return piece_view(session, user, piece)


@router.post("/pieces/{slug}/drafts", responses=NOT_FOUND | CONFLICT)
def submit_draft(
    slug: str, body: DraftIn, session: SessionDep, signed_in: SignedInDep
) -> WorkflowPiece:
    """Submit a draft's Markdown (a new revision); `submit: true` sends it for review."""
    user = caller(signed_in)
    with committing(session, user):
        draft = drafts.draft_from_form(body.title, body.summary, body.body)
        piece = drafts.submit_draft(
            session, user, slug, draft, body.base_version, "api", for_review=body.submit
        )
    return piece_view(session, user, piece)


@router.post("/pieces/{slug}/drafts/upload", responses=NOT_FOUND | CONFLICT)
def upload_draft(
    slug: str,
    file: Annotated[UploadFile, File(description="A .md file with front matter")],
    base_version: Annotated[int, Form()],
    session: SessionDep,
    settings: SettingsDep,
    signed_in: SignedInDep,
    submit: Annotated[bool, Form()] = False,
) -> WorkflowPiece:
    """Submit a draft as a Markdown file, checked as ingest checks files."""
    user = caller(signed_in)
    raw = file.file.read(settings.max_upload_bytes + 1)  # spooled already: no waiting here
    with committing(session, user):
        workflow.load(session, user, slug)
        draft = drafts.draft_from_file(
            file.filename or "upload.md", raw, taxonomy_of(settings), settings.max_upload_bytes
        )
        piece = drafts.submit_draft(
            session, user, slug, draft, base_version, "upload", for_review=submit
        )
    return piece_view(session, user, piece)


@router.get("/pieces/{slug}/revisions", responses=NOT_FOUND)
def revisions(slug: str, session: SessionDep, signed_in: SignedInDep) -> list[RevisionInfo]:
    """Every revision of a piece: number, when, who, from where, note, conflict flag."""
    user = caller(signed_in)
    with committing(session, user):
        found = drafts.revisions(session, user, slug)
    return [RevisionInfo.model_validate(r) for r in found]


@router.get("/pieces/{slug}/revisions/{number}", responses=NOT_FOUND)
def revision(slug: str, number: int, session: SessionDep, signed_in: SignedInDep) -> RevisionFull:
    """One revision in full, with the Markdown file it stands for."""
    user = caller(signed_in)
    with committing(session, user):
        found = {r.number: r for r in drafts.revisions(session, user, slug)}
    if number not in found:
        raise HTTPException(404, f"'{slug}' has no revision {number}")
    full = RevisionFull.model_validate(found[number])
    return full.model_copy(update={"markdown": drafts.revision_text(found[number])})


@router.get("/pieces/{slug}/diff", responses=NOT_FOUND)
def diff(
    slug: str,
    session: SessionDep,
    signed_in: SignedInDep,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    """A unified diff between two revisions of a piece."""
    user = caller(signed_in)
    with committing(session, user):
        text = drafts.diff(session, user, slug, old, new)
    return {"from": old, "to": new, "diff": text}


@router.get("/pieces/{slug}/notes", responses=NOT_FOUND)
def notes(slug: str, session: SessionDep, signed_in: SignedInDep) -> list[dict[str, Any]]:
    """The review thread of a piece (internal; never public)."""
    user = caller(signed_in)
    with committing(session, user):
        thread = drafts.notes(session, user, slug)
    return [vars(n) | {"created_at": n.created_at.isoformat()} for n in thread]


@router.post("/pieces/{slug}/notes", status_code=201, responses=NOT_FOUND)
def add_note(
    slug: str, body: NoteIn, session: SessionDep, signed_in: SignedInDep
) -> dict[str, Any]:
    """Add a note to the review thread (editors, or the piece's writer)."""
    user = caller(signed_in)
    with committing(session, user):
        note = drafts.post_note(session, user, slug, body.body)
    return {"id": note.id, "kind": note.kind, "body": note.body}
