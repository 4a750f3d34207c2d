"""Dashboard pages for writing: the draft editor (Markdown with a preview) and the `.md` upload.

Registered beside `app.routers.editor_workflow`, under the same `/editor` prefix; a refusal shows
the draft page again with the writer's text kept and each problem beside its field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.dashboard import embedded, piece_or_404, render_dashboard
from app.deps import DashboardUser, SessionDep, SettingsDep
from app.routers.editor_workflow import to_workspace
from app.routers.workflow import taxonomy_of
from editorial import drafts, workflow
from editorial.auth import SignedIn
from editorial.models import Piece

router = APIRouter(prefix="/editor", tags=["dashboard"], include_in_schema=False)


@router.get("/pieces/{slug}/draft", response_class=HTMLResponse)
def draft_form(
    slug: str, request: Request, session: SessionDep, signed_in: DashboardUser
) -> Response:
    """The draft editor: Markdown with a preview, or a file upload (while the writer may)."""
    piece = piece_or_404(session, signed_in, slug)
    closed = not drafts.writable(signed_in.user, piece)
    text = (piece.title, piece.summary, piece.body)
    return _draft_page(request, signed_in, piece, *text, closed=closed)


def _draft_page(
    request: Request,
    signed_in: SignedIn,
    piece: Piece,
    title: str,
    summary: str,
    body: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return render_dashboard(
        request,
        signed_in,
        "editor/draft.html",
        status_code,
        piece=piece,
        reviewable=drafts.SUBMITTABLE,
        values={"title": title, "summary": summary, "body": body},
        base_version=context.pop("base_version", piece.version),
        **context,
    )


@router.post("/pieces/{slug}/draft")
def save_draft(
    slug: str,
    request: Request,
    session: SessionDep,
    signed_in: DashboardUser,
    base_version: Annotated[int, Form()],
    body: Annotated[str, Form(max_length=2_000_000)] = "",
    title: Annotated[str | None, Form(max_length=100_000)] = None,  # drafts.LONGEST checks
    summary: Annotated[str | None, Form(max_length=100_000)] = None,
    action: Annotated[str, Form(max_length=20)] = "save",
) -> Response:
    """Preview, save, or save and submit the draft for review."""
    piece = piece_or_404(session, signed_in, slug)
    kept = (piece.title if title is None else title, piece.summary if summary is None else summary)
    if action == "preview":
        html = embedded(drafts.preview(body))
        return _draft_page(
            request, signed_in, piece, *kept, body, preview=html, base_version=base_version
        )
    try:
        draft = drafts.draft_from_form(title, summary, body)
        _submit(session, signed_in, slug, draft, base_version, "form", action)
    except workflow.WorkflowError as error:
        session.rollback()
        return _draft_refused(request, session, signed_in, slug, error, (*kept, body), base_version)
    session.commit()
    return to_workspace(slug)


def _submit(
    session: Session,
    signed_in: SignedIn,
    slug: str,
    draft: drafts.Draft,
    base_version: int,
    origin: str,
    action: str,
) -> None:
    """Store the draft; the "submit" button also sends it for review."""
    for_review = action == "submit"
    drafts.submit_draft(
        session, signed_in.user, slug, draft, base_version, origin, for_review=for_review
    )


def _draft_refused(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    slug: str,
    error: Exception,
    text: tuple[str, str, str],
    base_version: int,
    form: str = "errors",
) -> Response:
    """The draft page again with the writer's text kept and each problem beside its field, in
    the `form` that was sent: an uploaded file's missing title is not the title field's."""
    piece = workflow.load(session, signed_in.user, slug)
    errors = error.errors if isinstance(error, workflow.InvalidInput) else {}
    refused = workflow.Conflict | workflow.TransitionRefused
    code = 422 if errors else 409 if isinstance(error, refused) else 403
    return _draft_page(
        request,
        signed_in,
        piece,
        *text,
        code,
        **{form: errors},
        message=str(error),
        base_version=base_version,
    )


@router.post("/pieces/{slug}/upload")
def upload_draft(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signed_in: DashboardUser,
    file: UploadFile,
    base_version: Annotated[int, Form()],
    action: Annotated[str, Form(max_length=20)] = "save",
) -> Response:
    """Submit a draft as a `.md` file with front matter, checked as ingest checks files."""
    piece = piece_or_404(session, signed_in, slug)
    raw = file.file.read(settings.max_upload_bytes + 1)  # spooled already: no waiting here
    try:
        name = file.filename or "upload.md"
        draft = drafts.draft_from_file(name, raw, taxonomy_of(settings), settings.max_upload_bytes)
        _submit(session, signed_in, slug, draft, base_version, "upload", action)
    except workflow.WorkflowError as error:
        session.rollback()
        text = (piece.title, piece.summary, piece.body)
        return _draft_refused(
            request, session, signed_in, slug, error, text, base_version, "upload_errors"
        )
    session.commit()
    return to_workspace(slug)
