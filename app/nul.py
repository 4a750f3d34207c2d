"""A NUL character in a request's path or query string is refused before any route runs.

No address of the site holds one, and PostgreSQL text cannot: a slug or a filter with NUL in it
reached a query and failed there with a 500 (SQLite simply found nothing). Pages answer 404,
as for any address that is not there; the API answers 422 in FastAPI's shape, naming the path
or the query parameter."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

REFUSED = "A NUL character (\\0) cannot be part of an address; remove it"


def nul_location(scope: Scope) -> list[str] | None:
    """Where a request's address holds NUL: ["path"] or ["query", name]; None when nowhere."""
    if "\x00" in scope["path"]:  # the server has decoded %00 already
        return ["path"]
    query: bytes = scope["query_string"]
    if b"%00" not in query and b"\x00" not in query:  # the two ways to write NUL in a query
        return None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return ["query", next((name for name, value in pairs if "\x00" in name + value), "")]


class RefuseNul:
    """Answers a request whose address holds NUL itself: `not_found` for pages, 422 for /api."""

    def __init__(self, app: ASGIApp, not_found: Callable[[Request], Response]) -> None:
        self.app = app
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = nul_location(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/api/"):
            error = {"loc": where, "msg": REFUSED, "type": "nul_character"}
            response: Response = JSONResponse({"detail": [error]}, status_code=422)
        else:
            response = self.not_found(Request(scope, receive))
        await response(scope, receive, send)
