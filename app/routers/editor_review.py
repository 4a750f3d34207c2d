"""Dashboard pages for writers and reviewers: My assignments, the review queue, a review.

Included by `app.routers.editor_workflow`, under the same `/editor` prefix."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.dashboard import embedded, piece_or_404, render_dashboard
from app.deps import DashboardEditor, DashboardUser, SessionDep
from editorial import drafts, workflow
from editorial.snapshot import BRIEF

router = APIRouter()


@router.get("/assignments", response_class=HTMLResponse)
def assignments(request: Request, session: SessionDep, signed_in: DashboardUser) -> Response:
    """The signed-in person's assignments: brief, due date, status and latest review note."""
    pieces = drafts.assignments(session, signed_in.user)
    threads = {p.slug: drafts.notes(session, signed_in.user, p.slug) for p in pieces}
    return render_dashboard(
        request,
        signed_in,
        "editor/assignments.html",
        pieces=pieces,
        threads=threads,
        brief_key=BRIEF,
    )


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, signed_in: DashboardEditor) -> Response:
    """Pieces waiting for review."""
    pieces = drafts.review_queue(session, signed_in.user)
    submitted = drafts.submitted_at(session, pieces)
    return render_dashboard(
        request, signed_in, "editor/review_queue.html", pieces=pieces, submitted=submitted
    )


@router.get("/review/{slug}", response_class=HTMLResponse)
def review(
    slug: str, request: Request, session: SessionDep, signed_in: DashboardEditor
) -> Response:
    """A piece under review: preview, the changes since the last review, the thread, decisions."""
    piece = piece_or_404(session, signed_in, slug)
    since = drafts.last_reviewed(session, piece) or drafts.first_revision(session, piece)
    text = drafts.diff(session, signed_in.user, slug, since, piece.version)
    return render_dashboard(
        request,
        signed_in,
        "editor/review.html",
        piece=piece,
        preview=embedded(piece.html),
        since=since,
        diff=text,
        notes=drafts.notes(session, signed_in.user, slug),
        moves=workflow.allowed_transitions(signed_in.user, piece),
    )
