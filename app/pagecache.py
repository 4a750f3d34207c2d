"""A short-lived cache of public pages for anonymous readers (micro-caching).

Most page views come from readers the site knows nothing about, and they all see the same page.
This process keeps each public page it rendered for `page_cache_seconds` (1 s by default, 0 turns
the cache off) and answers the same request from memory until then. Bounds on staleness:

- A team member's write through this process (workflow, moderation, sign-in …) drops every
  page at once, so what the team publishes or withdraws shows on the next view.
- A page never outlives the catalog's next scheduled moment (a piece going public or expiring).
- Readers' ratings and comments, and anything written by another process (a second server,
  `editorial ingest`), show within the cache's lifetime. Dropping a piece's page on each of its
  ratings would make a busy page be rendered anew for nearly every view.
- Requests carrying a reader or session cookie are never answered from the cache: a reader who
  has just rated or commented, or an editor, sees the store as it is now.

Only GET requests for the public page routes without a query string are cached, only 200
answers that set no cookie, and at most `MAX_PAGES` of them."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import datetime

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editorial import clock
from editorial.catalog import CatalogCache
from editorial.readers import READER_COOKIE

MAX_PAGES = 4096
SESSION_COOKIE = "editorial_session"
READERS_POST = re.compile(r"^(?:/api)?/pieces/[^/]+/(?:ratings|comments|rate|comment)$")


@dataclass
class Cached:
    start: Message
    body: bytes
    expires: float  # time.monotonic()
    until: datetime | None  # the catalog's next scheduled moment when the page was made


class PageCache:
    """ASGI middleware in front of the app's public page routes."""

    def __init__(
        self, app: ASGIApp, seconds: float, routes: list[Route], catalogs: CatalogCache
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.routes = routes
        self.catalogs = catalogs
        self.pages: dict[str, Cached] = {}
        self.generation = 0  # bumped by every write that drops the pages
        self.rendering: dict[str, tuple[int, asyncio.Future[Cached | None]]] = {}  # in flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
        elif scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            await self._write(scope, receive, send)
        elif scope["method"] == "GET" and self._cacheable(scope):
            await self._serve(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a write on; drop every page unless it was refused (a 4xx changed nothing, and
        posts to made-up addresses must not empty the cache) or was a reader's feedback."""
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            refused = 400 <= status < 500
            if not refused and not READERS_POST.match(scope["path"]):
                self.generation += 1
                self.pages.clear()

    def _cacheable(self, scope: Scope) -> bool:
        if scope["query_string"]:
            return False
        for name, value in scope["headers"]:
            if name == b"cookie" and (
                READER_COOKIE.encode() in value or SESSION_COOKIE.encode() in value
            ):
                return False
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        cached = self.pages.get(path)
        if cached is None or cached.expires <= time.monotonic() or not _before(cached.until):
            seen = self.generation
            pending = self.rendering.get(path)
            # Readers who ask while the page is being made wait for it rather than make it
            # again: when a busy page expires, one render serves them all.
            cached = await asyncio.shield(pending[1]) if pending and pending[0] == seen else None
            if cached is None:
                await self._render(scope, receive, send, seen)
                return
        await send({**cached.start, "headers": list(cached.start["headers"])})
        await send({"type": "http.response.body", "body": cached.body})

    async def _render(self, scope: Scope, receive: Receive, send: Send, seen: int) -> None:
        """Answer through the app, keeping the page when it may be reused."""
        path = scope["path"]
        made: asyncio.Future[Cached | None] = asyncio.get_running_loop().create_future()
        self.rendering.setdefault(path, (seen, made))
        start: Message | None = None  # the answer's status and headers, once sent
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        expires = time.monotonic() + self.seconds
        moments = [self.catalogs.until]  # before and after: the render may reload the catalog
        page = None
        try:
            await self.app(scope, receive, keep)
            moments.append(self.catalogs.until)
            if self._keepable(start):
                assert start is not None
                until = min((m for m in moments if m is not None), default=None)
                page = Cached(start, b"".join(chunks), expires, until)
        finally:
            made.set_result(page)
            if self.rendering.get(path, (None, None))[1] is made:
                del self.rendering[path]
        if page is not None and seen == self.generation:
            if len(self.pages) >= MAX_PAGES:
                self.pages.clear()
            self.pages[path] = page

    @staticmethod
    def _keepable(start: Message | None) -> bool:
        """A 200 answer that sets no cookie."""
        if start is None or start["status"] != 200:
            return False
        return not any(name == b"set-cookie" for name, _value in start.get("headers", []))


def _before(until: datetime | None) -> bool:
    """Whether a scheduled publication or expiry due at `until` has not come yet."""
    return until is None or clock.now() < until
