"""Public pages and files: home, pieces, term and author pages, feeds, sitemap, robots.

These are plain Starlette routes, not FastAPI ones. They take nothing but their path, they are
not part of the API, and they are the busiest thing the app serves: each page is built in one
worker-thread hop, with no dependency solving (bench/load.py measures the difference). Anything
that does not exist or is not public is a 404 with the theme's page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.deps import public_pages
from editorial.catalog import Catalog
from editorial.feedback import widgets
from editorial.models import DIMENSIONS
from editorial.pieces import html_of
from editorial.settings import Settings
from editorial.site import Pages

HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@dataclass
class Page:
    """What a page is built from: the store, the public catalog, the renderer, its path."""

    session: Session
    settings: Settings
    catalog: Catalog
    pages: Pages
    params: dict[str, str]

    def number(self) -> int:
        """The list page asked for: page 1 lives at the list's own address, so /page/1/ is 404."""
        number = canonical_number(self.params["number"])
        if number is None or number < 2:
            raise HTTPException(status_code=404)
        return number


def canonical_number(given: str) -> int | None:
    """A positive number written as the site writes it: ASCII digits, no leading zero (so
    `/page/02/` and `/page/²/` are not second addresses of a page, nor errors)."""
    if given.isascii() and given.isdigit() and not given.startswith("0"):
        return int(given)
    return None


Build = Callable[[Page], str | None]


def _build(request: Request, build: Build) -> str:
    state = request.app.state
    pages = public_pages(request)
    with Session(state.engine) as session:
        catalog = state.catalogs.get(session)
        page = Page(session, state.settings, catalog, pages, request.path_params)
        body = build(page)
    if body is None:
        raise HTTPException(status_code=404)
    return body


def page_route(path: str, build: Build, media_type: str = HTML) -> Route:
    """A GET (and HEAD) route whose body `build` makes, or a 404 when it makes none."""

    async def endpoint(request: Request) -> Response:
        return Response(await run_in_threadpool(_build, request, build), media_type=media_type)

    return Route(path, endpoint, methods=["GET"])


def piece(page: Page) -> str | None:
    """A published piece, with its readers' ratings and approved comments."""
    entry = page.catalog.by_slug.get(page.params["slug"])
    if entry is None:
        return None
    feedback = widgets(page.session, page.settings, [entry.id])[entry.id]
    html = html_of(page.session, [entry.id])[entry.id]
    return page.pages.piece(page.catalog, entry, html, feedback)


def sitemap_part(page: Page) -> str | None:
    """One part of a sitemap too long for one file (see `Pages.sitemap`)."""
    number = canonical_number(page.params["number"])
    return page.pages.sitemap(page.catalog, number) if number else None


def _term_routes(dimension: str) -> list[Route]:
    def term(page: Page) -> str | None:
        return page.pages.term(page.catalog, dimension, page.params["term"])

    def term_page(page: Page) -> str | None:
        return page.pages.term(page.catalog, dimension, page.params["term"], page.number())

    def term_feed(page: Page) -> str | None:
        return page.pages.feed(page.catalog, dimension, page.params["term"])

    return [
        page_route(f"/{dimension}/{{term}}/", term),
        page_route(f"/{dimension}/{{term}}/page/{{number}}/", term_page),
        page_route(f"/{dimension}/{{term}}/feed.xml", term_feed, ATOM),
    ]


routes: list[Route] = [
    page_route("/pieces/{slug}/", piece),
    page_route("/", lambda page: page.pages.home(page.catalog)),
    page_route("/page/{number}/", lambda page: page.pages.home(page.catalog, page.number())),
    page_route(
        "/authors/{slug}/", lambda page: page.pages.author(page.catalog, page.params["slug"])
    ),
    page_route(
        "/authors/{slug}/page/{number}/",
        lambda page: page.pages.author(page.catalog, page.params["slug"], page.number()),
    ),
    page_route("/feed.xml", lambda page: page.pages.feed(page.catalog), ATOM),
    page_route("/sitemap.xml", lambda page: page.pages.sitemap(page.catalog), XML),
    page_route("/sitemap-{number}.xml", sitemap_part, XML),
    page_route("/robots.txt", lambda page: page.pages.robots(), TEXT),
    *(route for dimension in DIMENSIONS for route in _term_routes(dimension)),
]
