"""Public HTML pages rendered from the theme; 404 (never 403) for anything not public."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from editorial.catalog import load_catalog
from editorial.ingest import ingest
from editorial.render import Renderer
from editorial.settings import Settings
from editorial.site import Pages
from editorial.taxonomy import load_taxonomy

HIDDEN = ["analytics-plan", "hugo-style", "future", "expired"]


@pytest.fixture
def site(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    return client


def test_home_lists_published_pieces(site: TestClient) -> None:
    html = site.get("/").text
    assert '<a href="/pieces/cloud-basics/">Cloud basics for the CIO</a>' in html
    assert "/pieces/cloud-basics-finance/" in html
    for slug in HIDDEN:
        assert f"/pieces/{slug}/" not in html
    assert '<link rel="stylesheet" href="/static/site.css">' in html


def test_piece_page(site: TestClient) -> None:
    response = site.get("/pieces/cloud-basics/")
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<h1>Cloud basics for the CIO</h1>" in html
    assert 'By <a href="/authors/dana-reyes/">Dana Reyes</a>' in html
    assert '<a href="/audience/cio/">CIO</a>' in html
    assert '<a href="/pieces/cloud-basics-finance/">Cloud basics for finance</a>' in html
    variant = site.get("/pieces/cloud-basics-finance/").text
    assert 'A version of <a href="/pieces/cloud-basics/">Cloud basics for the CIO</a>' in variant


def test_piece_without_trailing_slash_redirects(site: TestClient) -> None:
    response = site.get("/pieces/cloud-basics", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/pieces/cloud-basics/")


@pytest.mark.parametrize("slug", [*HIDDEN, "no-such-piece"])
def test_unpublished_piece_is_a_plain_404(site: TestClient, slug: str) -> None:
    response = site.get(f"/pieces/{slug}/")
    assert response.status_code == 404
    assert "Page not found" in response.text
    # kept out of search indexes, and no address of its own to claim as canonical
    assert '<meta name="robots" content="noindex">' in response.text
    assert 'rel="canonical"' not in response.text and 'property="og:url"' not in response.text


def test_term_pages(site: TestClient) -> None:
    html = site.get("/audience/finance/").text
    assert "<h1>Finance</h1>" in html
    assert "/pieces/cloud-basics-finance/" in html
    assert "/pieces/cloud-basics/" not in html
    described = site.get("/audience/cio/").text
    assert "Chief information officers." in described
    empty = site.get("/topic/analytics/")
    assert empty.status_code == 200
    assert "Nothing published here yet." in empty.text
    assert site.get("/topic/no-such-term/").status_code == 404
    assert site.get("/format/blog-post/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/page/2/",
        "/page/1/",
        "/page/0/",
        "/audience/cio/page/2/",
        "/page/%C2%B2/",  # a superscript two is a digit to Python, but not a number to int()
        "/page/%D9%A3/",  # an Arabic-Indic three: not the site's own way to write 3
        "/page/01/",
        "/sitemap-1.xml",  # the sitemap is one file at this size
    ],
)
def test_pages_past_the_listing_are_404(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_home_paginates(settings: Settings, engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    pages = Pages(Renderer(settings), load_taxonomy(content_dir / "taxonomy.yaml"), per_page=1)
    with Session(engine) as session:
        catalog = load_catalog(session)
    first = pages.home(catalog)
    second = pages.home(catalog, 2)
    assert pages.home(catalog, 3) is None
    assert first is not None and second is not None
    assert 'href="/page/2/"' in first and "Page 1 of 2" in first
    assert 'rel="prev" href="/"' in second


def test_static_files_cannot_escape_the_theme(site: TestClient) -> None:
    assert site.get("/static/site.css").status_code == 200
    assert site.get("/static/..%2F..%2Fpyproject.toml").status_code == 404
    assert site.get("/static/%2e%2e/base.html").status_code == 404


def test_compiled_templates_are_kept_apart_per_site(settings: Settings, content_dir: Path) -> None:
    """Jinja folds `'feed.xml' | url` into the link while compiling, and compiled templates are
    cached on disk between processes: a site under another base URL must not get those links."""
    taxonomy = load_taxonomy(content_dir / "taxonomy.yaml")
    pages = {}
    for base in ("https://a.example/one/", "https://b.example/two/", "https://a.example/one/"):
        page = Pages(Renderer(settings, base, auto_reload=False), taxonomy).not_found()
        pages.setdefault(base, set()).add(page)
    one, two = pages["https://a.example/one/"], pages["https://b.example/two/"]
    assert len(one) == 1 and len(two) == 1  # the same site gives the same bytes every time
    assert 'href="/one/feed.xml"' in next(iter(one)) and "/two/" not in next(iter(one))
    assert 'href="/two/feed.xml"' in next(iter(two)) and "/one/" not in next(iter(two))
