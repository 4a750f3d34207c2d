"""The page cache: anonymous page views come from memory, within the bounds it promises.

Each test changes a piece's file and ingests it behind the app's back, then looks at what an
anonymous reader and a reader with a cookie are shown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from feedback_support import OTHER, PUBLIC, app_client
from sqlalchemy import Engine

from app import pagecache
from editorial import clock
from editorial.ingest import ingest
from editorial.settings import Settings

OLD, NEW = "Cloud basics for the CIO", "Cloud basics, revised"
OTHER_OLD, OTHER_NEW = "Cloud basics for finance", "Finance and the cloud, revised"


@pytest.fixture
def site(settings: Settings, engine: Engine, content_dir: Path) -> Iterator[TestClient]:
    assert not ingest(engine, content_dir).errors
    with app_client(settings, page_cache_seconds=60) as client:
        yield client


def anonymous(client: TestClient, path: str) -> str:
    client.cookies.clear()
    response = client.get(path)
    assert response.status_code == 200
    return response.text


def retitle(engine: Engine, content_dir: Path) -> None:
    """Both pieces get new titles, ingested as another process would."""
    for name, old, new in [
        ("cloud-basics", OLD, NEW),
        ("cloud-basics-finance", OTHER_OLD, OTHER_NEW),
    ]:
        path = content_dir / "posts" / f"{name}.md"
        path.write_text(path.read_text().replace(old, new))
    report = ingest(engine, content_dir)
    assert report.updated == 2 and not report.errors


def test_anonymous_readers_get_the_cached_page_and_readers_with_a_cookie_a_fresh_one(
    site: TestClient, engine: Engine, content_dir: Path
) -> None:
    assert OLD in anonymous(site, f"/pieces/{PUBLIC}/")
    assert OLD in anonymous(site, "/")
    retitle(engine, content_dir)
    assert OLD in anonymous(site, f"/pieces/{PUBLIC}/")
    assert OLD in anonymous(site, "/")
    site.cookies.set("editorial_reader", "anything")
    assert NEW in site.get(f"/pieces/{PUBLIC}/").text
    assert NEW in anonymous(site, "/?page=1")  # a query string is never cached


def test_a_rating_shows_at_once_to_its_reader_and_within_the_lifetime_to_others(
    site: TestClient, engine: Engine, content_dir: Path
) -> None:
    assert "No ratings yet." in anonymous(site, f"/pieces/{PUBLIC}/")
    assert site.post(f"/api/pieces/{PUBLIC}/ratings", json={"stars": 4}).status_code == 200
    assert "by 1 reader." in site.get(f"/pieces/{PUBLIC}/").text  # the rater has the cookie
    assert "No ratings yet." in anonymous(site, f"/pieces/{PUBLIC}/")


def test_any_other_write_drops_every_page(
    site: TestClient, engine: Engine, content_dir: Path
) -> None:
    anonymous(site, f"/pieces/{OTHER}/")
    anonymous(site, "/")
    retitle(engine, content_dir)
    assert site.post("/no/such/form").status_code == 404  # refused: nothing changed
    assert OTHER_OLD in anonymous(site, f"/pieces/{OTHER}/")
    site.post("/editor/logout")
    assert OTHER_NEW in anonymous(site, f"/pieces/{OTHER}/")
    assert NEW in anonymous(site, "/")


def test_a_page_lives_no_longer_than_its_setting(
    settings: Settings, engine: Engine, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's clock stands still unless the test moves it: how long the ingest in between
    takes on a busy machine must not decide what the test sees (a clock that ran on, only moved
    ahead, made this test fail when the ingest took more than half a second)."""
    ahead = [0.0]
    start = time.monotonic()

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return start + ahead[0]

    monkeypatch.setattr(pagecache, "time", Clock)
    assert not ingest(engine, content_dir).errors
    with app_client(settings, page_cache_seconds=5) as client:
        anonymous(client, f"/pieces/{PUBLIC}/")
        retitle(engine, content_dir)
        ahead[0] = 4.5  # still within the lifetime (a page is kept from the moment it is made)
        assert OLD in anonymous(client, f"/pieces/{PUBLIC}/")
        ahead[0] = 5.5
        assert NEW in anonymous(client, f"/pieces/{PUBLIC}/")


def test_a_scheduled_piece_is_not_held_back(
    site: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2098, 12, 31, tzinfo=UTC))
    assert "Coming soon" not in anonymous(site, "/")
    monkeypatch.setattr(clock, "now", lambda: datetime(2099, 1, 2, tzinfo=UTC))
    anonymous(site, f"/pieces/{OTHER}/")  # reads the catalog anew: its next moment moves on
    assert "Coming soon" in anonymous(site, "/")


def test_missing_pages_are_not_cached(site: TestClient, engine: Engine, content_dir: Path) -> None:
    site.cookies.clear()
    assert site.get("/pieces/brand-new/").status_code == 404
    path = content_dir / "posts" / "brand-new.md"
    path.write_text(
        (content_dir / "posts" / "cloud-basics.md")
        .read_text()
        .replace("aliases: [/old/cloud-basics/, legacy-cloud.html]\n", "slug: brand-new\n")
    )
    assert not ingest(engine, content_dir).errors
    assert site.get("/pieces/brand-new/").status_code == 200


def test_off_when_set_to_zero(settings: Settings, engine: Engine, content_dir: Path) -> None:
    assert not ingest(engine, content_dir).errors
    with app_client(settings, page_cache_seconds=0) as client:
        anonymous(client, f"/pieces/{PUBLIC}/")
        retitle(engine, content_dir)
        assert NEW in anonymous(client, f"/pieces/{PUBLIC}/")
