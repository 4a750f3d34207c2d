"""Rendering of dashboard pages (`/editor/…`): the signed-in person and CSRF token in every page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from editorial import workflow
from editorial.auth import SignedIn
from editorial.models import Piece

# Dashboard pages are private and change with every action: never cache them anywhere.
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


# The ids a piece's HTML holds (heading anchors, footnotes) and its links to them.
OWN_IDS_RE = re.compile(r'(\sid="|\shref="#)')


def embedded(html: str) -> str:
    """A piece's HTML for showing inside a dashboard page: its ids, and its links to them, take
    a `preview-` prefix, so that a heading such as "Notes" or "Summary" never takes the id of
    a part of the page (a form field, or the heading that names a section)."""
    return OWN_IDS_RE.sub(r"\1preview-", html)


def render_dashboard(
    request: Request,
    signed_in: SignedIn | None,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A dashboard page from the theme's `editor/` templates."""
    html = request.app.state.renderer.render(
        template,
        path=request.url.path,
        user=signed_in.user if signed_in else None,
        csrf_token=signed_in.csrf_token if signed_in else "",
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=PRIVATE)


REFUSALS = {403: "Not open to you", 422: "The form could not be used"}


def error_page(
    request: Request, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """A refused dashboard request as a page that says why, rather than a JSON body."""
    heading = REFUSALS.get(status_code, "The request was refused")
    response = render_dashboard(
        request, None, "editor/error.html", status_code, heading=heading, message=message
    )
    response.headers.update(headers or {})
    return response


def piece_or_404(session: Session, signed_in: SignedIn, slug: str) -> Piece:
    """The piece this person may work on; not theirs or not there, the same 404 either way."""
    try:
        return workflow.load(session, signed_in.user, slug)
    except workflow.NotFound:
        raise HTTPException(404, "Not Found") from None
