"""Signing in and out of the dashboard with a password; the API uses bearer tokens instead."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dashboard import render_dashboard
from app.deps import SAFE_METHODS, SESSION_COOKIE, SessionDep, SignedInDep, over_https
from editorial import auth
from editorial.auth import AuthError
from editorial.readers import client_address

router = APIRouter(prefix="/editor", tags=["sign-in"], include_in_schema=False)
LOGIN_CSRF_COOKIE = "editorial_login_csrf"


def _safe_next(target: str) -> str:
    """Only a dashboard path is a place to go back to; anything else goes to the dashboard."""
    if target.startswith("/editor") and not target.startswith("//") and "\\" not in target:
        return target
    return "/editor/"


def sign_in_first(request: Request) -> Response:
    """To the sign-in form, then back: to the page asked for, or for a form posted once the
    session had ended, to the page the form was on (the form's address answers only POST)."""
    if request.method in SAFE_METHODS:
        path, query = request.url.path, request.url.query
    else:
        page = urlsplit(request.headers.get("referer", ""))
        path, query = page.path, page.query
    back = _safe_next(f"{path}?{query}" if query else path)
    return RedirectResponse(f"/editor/login?next={quote(back)}", status_code=303)


def _login_form(
    request: Request, next_path: str, error: str = "", status: int = 200, email: str = ""
) -> Response:
    """The sign-in form; after a refusal, with the message and the address typed."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render_dashboard(
        request,
        None,
        "editor/login.html",
        status,
        next_path=next_path,
        error=error,
        email=email,
        login_csrf=token,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=over_https(request),
        path="/editor",
    )
    return response


@router.api_route("/login", methods=["GET", "HEAD"], response_class=HTMLResponse)
def login_page(request: Request, next: str = "/editor/") -> Response:
    """The sign-in form."""
    return _login_form(request, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/editor/",
) -> Response:
    """Check the password, then start a session held in an HttpOnly cookie."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        expired = "The form expired; please try again."
        return _login_form(request, _safe_next(next), expired, 400, email)
    network = auth.digest(_client_address(request))[:16]
    try:
        user = auth.authenticate(session, email, password, network)
    except AuthError as error:
        session.commit()  # keep the failure count
        return _login_form(request, _safe_next(next), str(error), 401, email)
    if earlier := request.cookies.get(SESSION_COOKIE):  # this browser's session ends here
        auth.end_session(session, earlier)
    secret, _signed_in = auth.start_session(session, user)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=over_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/editor")
    return response


def _client_address(request: Request) -> str:
    """Who is signing in: behind a trusted proxy, the address it forwards, not its own (or
    every failed sign-in through the proxy would count against the whole team)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return client_address(peer, forwarded, request.app.state.settings)


@router.post("/logout")
def logout(request: Request, session: SessionDep, signed_in: SignedInDep) -> Response:
    """End the session everywhere and go back to the sign-in form; a session that had already
    ended needs no sign-in first (the form's CSRF token is checked while one is live)."""
    if signed_in is not None:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
        session.commit()
    response = RedirectResponse("/editor/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
