"""Request dependencies, as Annotated aliases used by every router."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from editorial.auth import SignedIn, resume_session, user_for_token
from editorial.models import Role, User
from editorial.settings import Settings
from editorial.site import Pages
from editorial.taxonomy import current_taxonomy


async def get_settings(request: Request) -> Settings:
    """The settings the application was built with (a coroutine: no worker thread needed)."""
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One database session per request, used from the request's worker threads.

    A coroutine on purpose: closing the session hands its connection back to the pool on the
    event loop. Were it closed in a worker thread, a burst of requests could take every thread
    to wait for a connection that only a thread could give back (a deadlock until the pool's
    timeout, found by bench/load.py)."""
    with Session(request.app.state.engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def over_https(request: Request) -> bool:
    """Whether cookies set now must be Secure: the request came over HTTPS, or the site's public
    address is HTTPS (behind a proxy that ends TLS, the app itself sees plain HTTP)."""
    settings: Settings = request.app.state.settings
    return request.url.scheme == "https" or settings.base_url.lower().startswith("https:")


def public_pages(request: Request) -> Pages:
    """The public pages, with the taxonomy as it is on disk now (one stat() per request)."""
    settings: Settings = request.app.state.settings
    taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    return Pages(request.app.state.renderer, taxonomy, settings.page_size)


async def get_pages(request: Request) -> Pages:
    """`public_pages` as a dependency (a coroutine: no worker thread needed)."""
    return public_pages(request)


PagesDep = Annotated[Pages, Depends(get_pages)]


SESSION_COOKIE = "editorial_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _identify(session: Session, header: str, cookie: str | None) -> SignedIn | None:
    if header[:7].lower() == "bearer ":
        user = user_for_token(session, header[7:].strip())
        return SignedIn(user, via="token") if user else None
    return resume_session(session, cookie) if cookie else None


async def get_signed_in(request: Request, session: SessionDep) -> SignedIn | None:
    """The caller, from a bearer token or a session cookie; cookie writes must carry CSRF.

    The store is read in a worker thread: the event loop never waits on the database."""
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = await run_in_threadpool(_identify, session, header, cookie)
    if signed_in and signed_in.via != "token" and request.method not in SAFE_METHODS:
        await _check_csrf(request, signed_in.csrf_token)
    return signed_in


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = str((await request.form()).get("csrf_token", ""))
    if not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "The form's security token is missing or stale; reload the page.")


# The checks from here on wait on nothing, so they are coroutines: as plain functions each would
# cost the request a hop to a worker thread.
async def get_current_user(signed_in: Annotated[SignedIn | None, Depends(get_signed_in)]) -> User:
    """The signed-in user; 401 (a sign-in redirect on dashboard pages) otherwise."""
    if signed_in is None:
        raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
    return signed_in.user


async def get_editor(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The signed-in user, who must be an editor."""
    if user.role != Role.EDITOR:
        raise HTTPException(403, "Only editors can do this.")
    return user


SignedInDep = Annotated[SignedIn | None, Depends(get_signed_in)]
CurrentUser = Annotated[User, Depends(get_current_user)]
EditorUser = Annotated[User, Depends(get_editor)]


async def get_dashboard_user(signed_in: SignedInDep) -> SignedIn:
    """The signed-in person on a dashboard page, with the CSRF token its forms carry."""
    if signed_in is None:
        raise HTTPException(401, "Sign in first.")
    return signed_in


async def get_dashboard_editor(
    signed_in: Annotated[SignedIn, Depends(get_dashboard_user)],
) -> SignedIn:
    """The signed-in editor on a dashboard page."""
    if signed_in.user.role != Role.EDITOR:
        raise HTTPException(403, "Only editors can open this page.")
    return signed_in


DashboardUser = Annotated[SignedIn, Depends(get_dashboard_user)]
DashboardEditor = Annotated[SignedIn, Depends(get_dashboard_editor)]
