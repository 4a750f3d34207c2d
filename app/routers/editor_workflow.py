"""Dashboard pages of the workflow: plan, a piece's workspace, diffs, assignments, review (the
draft editor and upload are in `app.routers.editor_drafts`).

Forms post back here; a refusal re-renders the page with the message next to its field (422),
the current version (409) or the theme's 404, never a bare error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.dashboard import piece_or_404, render_dashboard
from app.deps import DashboardEditor, DashboardUser, SessionDep, SettingsDep
from app.routers.editor_review import router as review_router
from app.routers.pages import canonical_number
from app.routers.workflow import taxonomy_of
from editorial import drafts, workflow
from editorial.auth import SignedIn
from editorial.models import DIMENSIONS, Piece, Status
from editorial.pieces import terms_of
from editorial.snapshot import BRIEF

router = APIRouter(prefix="/editor", tags=["dashboard"], include_in_schema=False)
PLAN_FIELDS = ("title", "summary", *DIMENSIONS, "assignee", "due_at", "publish_at", "brief")
TextField = Annotated[str, Form(max_length=10_000)]


def _planning(form: dict[str, Any]) -> dict[str, Any]:
    """Planning values from a form: term fields are lists, the rest text."""
    values: dict[str, Any] = {}
    for key in PLAN_FIELDS:
        if key in form:
            value = form[key]
            values[key] = value if key in DIMENSIONS else (value[0] if value else "")
    return values


async def _form(request: Request) -> dict[str, list[str]]:
    """The posted form, every field as a list (read here so that the endpoint need not await)."""
    form = await request.form()
    return {key: [str(v) for v in form.getlist(key)] for key in form}


FormDep = Annotated[dict[str, list[str]], Depends(_form)]


def _workspace(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    piece: Piece,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A piece's workspace page: planning, moves, revisions and the review thread."""
    assert piece.id is not None
    user = signed_in.user
    terms = terms_of(session, [piece.id]).get(piece.id, {})
    context.setdefault("values", _values(piece, terms))
    return render_dashboard(
        request,
        signed_in,
        "editor/workspace.html",
        status_code,
        piece=piece,
        terms=terms,
        taxonomy=taxonomy_of(request.app.state.settings),
        brief=(piece.front_matter or {}).get(BRIEF, ""),
        moves=workflow.allowed_transitions(user, piece),
        revisions=drafts.revisions(session, user, piece.slug),
        notes=drafts.notes(session, user, piece.slug),
        editor=workflow.is_editor(user),
        writable=drafts.writable(user, piece),
        **context,
    )


def _values(piece: Piece, terms: dict[str, list[str]]) -> dict[str, Any]:
    """The planning form's values for `piece`."""
    brief = (piece.front_matter or {}).get(BRIEF, "")
    texts = {"title": piece.title, "summary": piece.summary, "assignee": piece.assignee or ""}
    terms = {d: terms.get(d, []) for d in DIMENSIONS}
    return texts | _shown_moments(piece) | terms | {"brief": brief}


def _shown_moments(piece: Piece) -> dict[str, str]:
    """The piece's dates as the form's date-and-time fields show them: to the minute."""
    return {
        key: value.strftime("%Y-%m-%dT%H:%M") if (value := getattr(piece, key)) else ""
        for key in workflow.MOMENTS
    }


def _edited(piece: Piece, changes: dict[str, Any]) -> dict[str, Any]:
    """Planning changes without the dates left as the form showed them. The form shows minutes:
    a moment stored with seconds (a commission is due "now") would move, and count as a change."""
    shown = _shown_moments(piece)
    return {k: v for k, v in changes.items() if k not in shown or v != shown[k]}


def _refused(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    slug: str,
    error: Exception,
    form: str = "errors",
    **typed: Any,
) -> Response:
    """The workspace again, with what was refused and why. What the person `typed` stays in
    its form when only a value was wrong (not when the piece changed meanwhile), and the field
    messages go to the `form` that was sent: the move forms and the planning form both have a
    publish date, and only the one sent may show its message."""
    session.rollback()
    if isinstance(error, workflow.NotFound):
        raise_not_found()
    piece = workflow.load(session, signed_in.user, slug)
    errors = error.errors if isinstance(error, workflow.InvalidInput) else {}
    code = 422 if errors else 403 if isinstance(error, workflow.Forbidden) else 409
    context = {form: errors} | (typed if errors else {})
    return _workspace(request, session, signed_in, piece, code, message=str(error), **context)


def raise_not_found() -> None:
    """Not yours, or not there: the same 404 either way."""
    raise HTTPException(404, "Not Found")


def to_workspace(slug: str, anchor: str = "") -> Response:
    """Back to the piece's workspace (at `anchor`), after a change."""
    return RedirectResponse(f"/editor/pieces/{slug}{anchor}", status_code=303)


@router.get("/plan", response_class=HTMLResponse)
def plan_form(request: Request, settings: SettingsDep, signed_in: DashboardEditor) -> Response:
    """The form for planning a new piece."""
    taxonomy = taxonomy_of(settings)
    return render_dashboard(request, signed_in, "editor/plan.html", taxonomy=taxonomy, values={})


@router.post("/plan")
def plan(
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    signed_in: DashboardEditor,
) -> Response:
    """Create the planned piece, then open its workspace."""
    values = _planning(form)
    if form.get("status") == ["idea"]:
        values["status"] = "idea"
    taxonomy = taxonomy_of(settings)
    try:
        piece = workflow.plan_piece(session, signed_in.user, values, "form", taxonomy=taxonomy)
    except workflow.InvalidInput as error:
        session.rollback()
        return render_dashboard(
            request,
            signed_in,
            "editor/plan.html",
            422,
            taxonomy=taxonomy,
            values=values,
            errors=error.errors,
        )
    session.commit()
    return to_workspace(piece.slug)


@router.get("/pieces/{slug}", response_class=HTMLResponse)
def workspace(
    slug: str,
    request: Request,
    session: SessionDep,
    signed_in: DashboardUser,
) -> Response:
    """A piece's workspace."""
    piece = piece_or_404(session, signed_in, slug)
    return _workspace(request, session, signed_in, piece)


@router.post("/pieces/{slug}/planning")
def update_planning(
    slug: str,
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    signed_in: DashboardUser,
) -> Response:
    """Save planning fields."""
    given = (form.get("base_version") or [""])[0]
    base = canonical_number(given) or 0
    changes = {d: [] for d in DIMENSIONS} | _planning(form)  # an unticked box is a removal
    try:
        piece = workflow.load(session, signed_in.user, slug)
        workflow.update_piece(
            session,
            signed_in.user,
            slug,
            _edited(piece, changes),
            base,
            "form",
            taxonomy=taxonomy_of(settings),
        )
    except workflow.WorkflowError as error:
        return _refused(request, session, signed_in, slug, error, values=changes)
    session.commit()
    return to_workspace(slug)


@router.post("/pieces/{slug}/transition")
def move(
    slug: str,
    request: Request,
    session: SessionDep,
    signed_in: DashboardUser,
    to: Annotated[str, Form(max_length=20)],
    base_version: Annotated[int, Form()],
    note: TextField = "",
    publish_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Move the piece; a refusal shows the moves allowed."""
    try:
        workflow.transition(
            session,
            signed_in.user,
            slug,
            to,
            base_version,
            "form",
            note or None,
            publish_at=publish_at or None,
        )
    except workflow.WorkflowError as error:
        kept = {"moved_to": to, "move_note": note}
        return _refused(request, session, signed_in, slug, error, "move_errors", **kept)
    session.commit()
    after = (
        "/editor/review"
        if to in (Status.APPROVED, Status.DRAFT) and workflow.is_editor(signed_in.user)
        else None
    )
    return RedirectResponse(after, status_code=303) if after else to_workspace(slug)


@router.post("/pieces/{slug}/notes")
def add_note(
    slug: str, request: Request, session: SessionDep, signed_in: DashboardUser, body: TextField = ""
) -> Response:
    """Add a note to the review thread."""
    try:
        drafts.post_note(session, signed_in.user, slug, body)
    except workflow.WorkflowError as error:
        return _refused(request, session, signed_in, slug, error, note_body=body)
    session.commit()
    return to_workspace(slug, "#notes")


@router.get("/pieces/{slug}/diff", response_class=HTMLResponse)
def diff_page(
    slug: str,
    request: Request,
    session: SessionDep,
    signed_in: DashboardUser,
    first: Annotated[int, Query(alias="from", ge=1)] = 1,
    second: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> Response:
    """Two revisions compared line by line."""
    try:
        piece = workflow.load(session, signed_in.user, slug)
        second = second or piece.version
        text = drafts.diff(session, signed_in.user, slug, first, second)
    except workflow.WorkflowError as error:
        return _refused(request, session, signed_in, slug, error)
    return render_dashboard(
        request, signed_in, "editor/diff.html", piece=piece, first=first, second=second, diff=text
    )


router.include_router(review_router)
