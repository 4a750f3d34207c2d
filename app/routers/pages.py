"""Public HTML pages: home, pieces, term pages. Anything not public is a 404."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse

from app.deps import PagesDep, SessionDep
from editorial.models import DIMENSIONS

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse, include_in_schema=False)
PageNumber = Path(description="Listing page, from 2 (page 1 is the listing itself)")


def _found(html: str | None) -> HTMLResponse:
    """The page, or the theme's 404 page when there is none."""
    if html is None:
        raise HTTPException(status_code=404)
    return HTMLResponse(html)


@router.get("/")
def home(session: SessionDep, pages: PagesDep) -> HTMLResponse:
    """The latest published pieces."""
    return _found(pages.home(session))


@router.get("/page/{number}/")
def home_page(session: SessionDep, pages: PagesDep, number: int = PageNumber) -> HTMLResponse:
    """An older page of the home listing."""
    return _found(pages.home(session, number) if number >= 2 else None)


@router.get("/pieces/{slug}/")
def piece(slug: str, session: SessionDep, pages: PagesDep) -> HTMLResponse:
    """A published piece."""
    return _found(pages.piece(session, slug))


def _term_routes(dimension: str) -> None:
    def term(term: str, session: SessionDep, pages: PagesDep) -> HTMLResponse:
        return _found(pages.term(session, dimension, term))

    def term_page(
        term: str, session: SessionDep, pages: PagesDep, number: int = PageNumber
    ) -> HTMLResponse:
        return _found(pages.term(session, dimension, term, number) if number >= 2 else None)

    router.add_api_route(f"/{dimension}/{{term}}/", term, name=f"{dimension}_term")
    router.add_api_route(
        f"/{dimension}/{{term}}/page/{{number}}/", term_page, name=f"{dimension}_term_page"
    )


for _dimension in DIMENSIONS:
    _term_routes(_dimension)
