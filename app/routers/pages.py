"""Public pages and files: home, pieces, term and author pages, feeds, sitemap, robots.

Anything that does not exist or is not public is a 404 with the theme's page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from app.deps import CatalogDep, PagesDep, SessionDep, SettingsDep
from editorial.feedback import widgets
from editorial.models import DIMENSIONS
from editorial.pieces import html_of

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse, include_in_schema=False)
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"


def found(body: str | None, media_type: str = "text/html; charset=utf-8") -> Response:
    """The page, or the theme's 404 page when there is none."""
    if body is None:
        raise HTTPException(status_code=404)
    return Response(body, media_type=media_type)


def later_page(number: int) -> int:
    """Page 1 lives at the list's own address, so /page/1/ does not exist."""
    if number < 2:
        raise HTTPException(status_code=404)
    return number


@router.get("/")
def home(catalog: CatalogDep, pages: PagesDep) -> Response:
    """The latest published pieces."""
    return found(pages.home(catalog))


@router.get("/page/{number}/")
def home_page(number: int, catalog: CatalogDep, pages: PagesDep) -> Response:
    """An older page of the home listing."""
    return found(pages.home(catalog, later_page(number)))


@router.get("/pieces/{slug}/")
def piece(
    slug: str, catalog: CatalogDep, pages: PagesDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """A published piece, with its readers' ratings and approved comments."""
    entry = catalog.by_slug.get(slug)
    if entry is None:
        raise HTTPException(status_code=404)
    feedback = widgets(session, settings, [entry.id])[entry.id]
    return found(pages.piece(catalog, entry, html_of(session, [entry.id])[entry.id], feedback))


@router.get("/authors/{slug}/")
def author(slug: str, catalog: CatalogDep, pages: PagesDep) -> Response:
    """An author's pieces."""
    return found(pages.author(catalog, slug))


@router.get("/authors/{slug}/page/{number}/")
def author_page(slug: str, number: int, catalog: CatalogDep, pages: PagesDep) -> Response:
    """An older page of an author's pieces."""
    return found(pages.author(catalog, slug, later_page(number)))


@router.get("/feed.xml")
def feed(catalog: CatalogDep, pages: PagesDep) -> Response:
    """The site's Atom feed."""
    return found(pages.feed(catalog), ATOM)


@router.get("/sitemap.xml")
def sitemap(catalog: CatalogDep, pages: PagesDep) -> Response:
    """Every public page, for search engines."""
    return found(pages.sitemap(catalog), XML)


@router.get("/robots.txt", response_class=PlainTextResponse)
def robots(pages: PagesDep) -> Response:
    """What crawlers may visit."""
    return found(pages.robots(), "text/plain; charset=utf-8")


def _term_routes(dimension: str) -> None:
    def term(term: str, catalog: CatalogDep, pages: PagesDep) -> Response:
        return found(pages.term(catalog, dimension, term))

    def term_page(term: str, number: int, catalog: CatalogDep, pages: PagesDep) -> Response:
        return found(pages.term(catalog, dimension, term, later_page(number)))

    def term_feed(term: str, catalog: CatalogDep, pages: PagesDep) -> Response:
        return found(pages.feed(catalog, dimension, term), ATOM)

    router.add_api_route(f"/{dimension}/{{term}}/", term, name=f"{dimension}_term")
    router.add_api_route(
        f"/{dimension}/{{term}}/page/{{number}}/", term_page, name=f"{dimension}_term_page"
    )
    router.add_api_route(f"/{dimension}/{{term}}/feed.xml", term_feed, name=f"{dimension}_feed")


for _dimension in DIMENSIONS:
    _term_routes(_dimension)
