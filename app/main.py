"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import HTTPException as FastAPIHTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from app.busy import install as install_busy_handler
from app.cors import FeedbackCORS
from app.dashboard import error_page
from app.nul import RefuseNul
from app.pagecache import PageCache
from app.routers import (
    auth,
    calendar,
    editor,
    editor_calendar,
    editor_drafts,
    editor_gaps,
    editor_workflow,
    feedback,
    gaps,
    health,
    moderation,
    pages,
    pieces,
    static,
    workflow,
)
from app.security import SecurityHeaders
from editorial import __version__
from editorial.catalog import CatalogCache
from editorial.db import make_engine
from editorial.render import Renderer
from editorial.settings import Settings
from editorial.site import Pages
from editorial.taxonomy import current_taxonomy

# A lone half of a UTF-16 surrogate pair: JSON text may spell one ("\ud800"), UTF-8 cannot hold it.
SURROGATE_RE = re.compile("[\ud800-\udfff]")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application; the store must already be upgraded (`editorial db upgrade`)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        app.state.renderer.warm()
        yield
        engine.dispose()

    app = FastAPI(title="Editorial", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.renderer = Renderer(settings)
    app.state.catalogs = CatalogCache()
    # Routes match in order: the busiest (ratings, then the public pages) come first.
    app.include_router(feedback.router)
    app.router.routes.extend(pages.routes)
    routers = [
        health,
        pieces,
        static,
        auth,
        editor,
        workflow,
        editor_workflow,
        editor_drafts,
        moderation,
        calendar,
        editor_calendar,
        gaps,
        editor_gaps,
    ]
    for module in routers:
        app.include_router(module.router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(FeedbackCORS, settings=settings)
    app.add_middleware(
        PageCache,
        seconds=settings.page_cache_seconds,
        routes=pages.routes,
        catalogs=app.state.catalogs,
    )
    install_busy_handler(app)
    app.add_exception_handler(DataError, _unstorable)
    app.add_middleware(RefuseNul, not_found=_not_found_page)
    app.add_middleware(SecurityHeaders, settings=settings)  # outermost: every response
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """JSON errors under /api, the theme's 404 page elsewhere."""
    assert isinstance(exc, HTTPException | FastAPIHTTPException)
    path = request.url.path
    if exc.status_code == 401 and path.startswith("/editor"):
        return auth.sign_in_first(request)
    if exc.status_code == 404 and not path.startswith("/api/"):
        return _not_found_page(request)
    headers = getattr(exc, "headers", None)
    if path.startswith("/editor"):
        return error_page(request, exc.status_code, str(exc.detail), headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _not_found_page(request: Request) -> Response:
    """The theme's 404 page."""
    settings: Settings = request.app.state.settings
    taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    html = Pages(request.app.state.renderer, taxonomy).not_found()
    return HTMLResponse(html, status_code=404)


async def _unstorable(request: Request, exc: Exception) -> Response:
    """422, not 500, for a value the store refuses (a backstop: input checks come first)."""
    detail = (
        "The store cannot keep a value in this request (such as a NUL character); "
        "remove it and try again."
    )
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=422)
    return PlainTextResponse(detail, status_code=422)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with the input it echoes made writable as JSON."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/editor"):
        return error_page(request, 422, _in_words(exc.errors()))
    return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)


def _in_words(errors: Sequence[Any]) -> str:
    """Validation errors as one sentence a person can act on: each field and its problem."""
    problems = "; ".join(
        f"{(error.get('loc') or ['request'])[-1]}: {error.get('msg', 'not valid')}"
        for error in errors
    )
    return f"{problems}. Go back, correct the form and send it again."


def _json_safe(value: Any) -> Any:
    """`value` with NaN and infinities given as text and lone surrogates as U+FFFD."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
