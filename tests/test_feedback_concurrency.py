"""200 readers rating one piece at once against a real server on a loopback port: every rating is
counted exactly once, and rating again replaces (SQLite here; PostgreSQL when the suite runs on it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from feedback_support import PUBLIC
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.main import create_app
from editorial.ingest import ingest
from editorial.models import Rating
from editorial.settings import Settings

READERS = 200
WORKERS = 32  # concurrent connections at most


@pytest.fixture
def server(engine: Engine, content_dir: Path, settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, stopped after the test."""
    assert not ingest(engine, content_dir).errors
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="h11",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        thread.join(0.02)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def rate_twice(base: str, reader: int) -> tuple[str, int]:
    """One reader: a first rating (which sets the cookie), then a second that replaces it."""
    url = f"/api/pieces/{PUBLIC}/ratings"
    with httpx.Client(base_url=base, timeout=60) as client:
        first = client.post(url, json={"stars": 1 + reader % 5})
        assert first.status_code == 200, first.text
        cookie = client.cookies["editorial_reader"]
        final = 1 + (reader * 7) % 5
        second = client.post(url, json={"stars": final})
        assert second.status_code == 200, second.text
        assert "set-cookie" not in second.headers
    return cookie, final


def test_concurrent_raters_are_each_counted_exactly_once(server: str, engine: Engine) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda reader: rate_twice(server, reader), range(READERS)))
    cookies = {cookie for cookie, _ in results}
    assert len(cookies) == READERS
    with Session(engine) as session:
        count, total, readers = session.exec(
            select(func.count(), func.sum(Rating.stars), func.count(Rating.reader.distinct()))
        ).one()
    assert (count, readers) == (READERS, READERS)
    assert total == sum(final for _, final in results)
    summary = httpx.get(f"{server}/api/pieces/{PUBLIC}/ratings").json()
    assert summary["count"] == READERS
    expected = {str(s): sum(1 for _, f in results if f == s) for s in range(1, 6)}
    assert summary["distribution"] == expected
