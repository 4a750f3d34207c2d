"""The JSON API for pieces: filters, pagination, and 404 for anything not public."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from editorial.ingest import ingest

PUBLIC = {"cloud-basics", "cloud-basics-finance"}
HIDDEN = ["analytics-plan", "hugo-style", "future", "expired", "no-such-piece"]


@pytest.fixture
def api(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    return client


def slugs(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["slug"] for item in response.json()["items"]}


def test_lists_only_published_pieces_newest_first(api: TestClient) -> None:
    body = api.get("/api/pieces").json()
    assert [item["slug"] for item in body["items"]] == ["cloud-basics-finance", "cloud-basics"]
    assert body["total"] == 2
    assert body["items"][1]["terms"] == {
        "audience": ["cio"],
        "format": ["blog-post"],
        "stage": ["awareness"],
        "topic": ["cloud"],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"audience": "finance"}, {"cloud-basics-finance"}),
        ({"audience": "cio", "stage": "awareness"}, {"cloud-basics"}),
        ({"topic": "analytics"}, set()),
        ({"format": "blog-post"}, PUBLIC),
        ({"status": "planned"}, set()),
        ({"q": "FINANCE"}, {"cloud-basics-finance"}),
        ({"q": "budget"}, {"cloud-basics-finance"}),
        ({"q": "%"}, set()),
    ],
)
def test_filters(api: TestClient, params: dict[str, str], expected: set[str]) -> None:
    assert slugs(api.get("/api/pieces", params=params)) == expected


def test_pagination(api: TestClient) -> None:
    first = api.get("/api/pieces", params={"per_page": 1}).json()
    second = api.get("/api/pieces", params={"per_page": 1, "page": 2}).json()
    assert (first["total"], first["page"], first["per_page"]) == (2, 1, 1)
    assert [first["items"][0]["slug"], second["items"][0]["slug"]] == [
        "cloud-basics-finance",
        "cloud-basics",
    ]
    assert api.get("/api/pieces", params={"page": 3, "per_page": 1}).json()["items"] == []
    assert api.get("/api/pieces", params={"per_page": 1000}).status_code == 422


def test_reads_one_published_piece(api: TestClient) -> None:
    body = api.get("/api/pieces/cloud-basics").json()
    assert body["title"] == "Cloud basics for the CIO"
    assert '<h2 id="why-now">Why now</h2>' in body["html"]
    assert body["word_count"] == 15
    assert body["modified"] == "2025-05-10T06:30:00Z"  # its front matter's lastmod
    assert "body" not in body and "source_path" not in body


@pytest.mark.parametrize("slug", HIDDEN)
def test_anything_not_published_is_404(api: TestClient, slug: str) -> None:
    response = api.get(f"/api/pieces/{slug}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_health_and_openapi(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/pieces", "/api/pieces/{slug}", "/healthz"} <= set(paths)


def test_what_a_reader_sees_says_nothing_of_unpublished_pieces(
    client: TestClient, engine: Engine, content_dir: Path
) -> None:
    """A scheduled piece past its moment is published to readers, as on its page and in the
    calendar; a variant of a piece readers cannot see does not name that piece's slug."""
    (content_dir / "posts" / "went-live.md").write_text(
        "---\ntitle: Went live\nstatus: scheduled\ndate: 2025-01-01\n---\nBody.\n"
    )
    (content_dir / "posts" / "variant.md").write_text(
        "---\ntitle: Variant\ndate: 2025-01-02\nderived_from: analytics-plan\n---\nBody.\n"
    )
    assert not ingest(engine, content_dir).errors
    listed = client.get("/api/pieces").json()["items"]
    assert {item["status"] for item in listed} == {"published"}
    assert "went-live" in slugs(client.get("/api/pieces", params={"status": "published"}))
    assert slugs(client.get("/api/pieces", params={"status": "scheduled"})) == set()
    assert client.get("/api/pieces/went-live").json()["status"] == "published"
    assert client.get("/api/pieces/variant").json()["derived_from"] is None
    assert client.get("/api/pieces/cloud-basics-finance").json()["derived_from"] == "cloud-basics"
