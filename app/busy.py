"""A store too busy to answer in time is a 503 with Retry-After, never a 500.

SQLite already retries a locked database for 30 seconds (the busy timeout set in
`editorial.db.make_engine`); only a writer that waited that long gets here. Nothing was
committed by the failed request, so the client may safely send it again."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import OperationalError

BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")
RETRY_AFTER_SECONDS = 2


def store_is_busy(error: OperationalError) -> bool:
    """Whether `error` is SQLite giving up on a lock rather than a real failure."""
    return any(message in str(error.orig) for message in BUSY_MESSAGES)


async def busy_store(request: Request, exc: Exception) -> Response:
    """503 with Retry-After for a locked store; any other database error stays an error."""
    if not isinstance(exc, OperationalError) or not store_is_busy(exc):
        raise exc
    detail = "The store is busy with other changes; nothing was saved. Try again in a moment."
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)
    return PlainTextResponse(detail, status_code=503, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler on `app`."""
    app.add_exception_handler(OperationalError, busy_store)
