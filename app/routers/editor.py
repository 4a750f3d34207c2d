"""The dashboard's front page: what needs the signed-in person's attention."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.dashboard import render_dashboard
from app.deps import DashboardUser, SessionDep
from editorial.dashboard import overview

router = APIRouter(prefix="/editor", tags=["dashboard"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, signed_in: DashboardUser) -> Response:
    """Counts by status and the work waiting for this person."""
    return render_dashboard(
        request, signed_in, "editor/home.html", overview=overview(session, signed_in.user)
    )
