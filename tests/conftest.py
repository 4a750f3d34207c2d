"""Each test gets its own store: SQLite in tmp_path, or a fresh schema on the PostgreSQL server
named by EDITORIAL_TEST_DATABASE_URL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from storekit import pg_schema

from app.main import create_app
from editorial import clock
from editorial.db import make_engine, upgrade
from editorial.settings import Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("EDITORIAL_TEST_DATABASE_URL")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store that exists for this test only."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'editorial.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An upgraded, empty store."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the small fixture site, safe to change."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURES / "site", target)
    return target


@pytest.fixture
def settings(database_url: str, content_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for this test's store and content, isolated from any .env or environment."""
    for name in list(os.environ):
        if name.startswith("EDITORIAL_") and name != "EDITORIAL_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("EDITORIAL_DATABASE_URL", database_url)
    monkeypatch.setenv("EDITORIAL_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("EDITORIAL_THEMES_DIR", str(REPO / "themes"))
    # Tests change the store behind the app's back and read the result at once; the page cache
    # (on by default) has its own tests in test_pagecache.py, and the browser suite runs with it.
    monkeypatch.setenv("EDITORIAL_PAGE_CACHE_SECONDS", "0")
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app on this test's store (already upgraded)."""
    with TestClient(create_app(settings)) as client:
        yield client


FROZEN = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Every "now" in the code is this moment, so outputs that record times are repeatable."""
    monkeypatch.setattr(clock, "now", lambda: FROZEN)
    return FROZEN
