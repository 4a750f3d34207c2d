"""Test helpers for whole-store tests: extra empty stores, and a store with a row in every table."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from editorial import clock, limits
from editorial.auth import create_user, issue_token, start_session
from editorial.db import make_engine
from editorial.ingest import ingest
from editorial.models import Comment, Piece, Rating, ReviewNote

PG_URL = os.environ.get("EDITORIAL_TEST_DATABASE_URL")


@contextmanager
def extra_store(kind: str, folder: Path) -> Iterator[str]:
    """The URL of one more empty store: a SQLite file in `folder`, or a new PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'extra-{uuid.uuid4().hex[:8]}.db'}"
        return
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema(prefix: str = "t") -> Iterator[str]:
    """The URL of a new, empty schema on the test PostgreSQL server, dropped afterwards."""
    assert PG_URL, "PostgreSQL stores need EDITORIAL_TEST_DATABASE_URL"
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fill(engine: Engine, content_dir: Path) -> None:
    """Ingest the fixture site, then add people, sessions, throttles, notes, ratings, comments."""
    ingest(engine, content_dir, workers=1)
    with Session(engine) as session:
        editor = create_user(session, "Ed Itor", "ed@example.com", "editor", None)
        writer = create_user(session, "Zoë Writer", "zoe@example.com", "contributor", None)
        issue_token(session, editor)
        start_session(session, writer)
        limits.hit(session, "login:ed@example.com", timedelta(minutes=15))
        piece = session.exec(select(Piece).order_by(col(Piece.id))).first()
        assert piece is not None and piece.id is not None
        piece.review_by = date(2026, 9, 30)
        session.add(ReviewNote(piece_id=piece.id, user_id=editor.id, body="Tighten the intro."))
        session.add(Rating(piece_id=piece.id, reader="r" * 64, stars=4, ip_hash="ab" * 8))
        first = Comment(piece_id=piece.id, reader="r1", name="Ann", body="Useful — thanks!")
        session.add(first)
        session.flush()
        reply = Comment(piece_id=piece.id, parent_id=first.id, reader="r2", name="Bo", body="+1")
        reply.created_at = clock.now() + timedelta(microseconds=123)
        session.add(reply)
        session.commit()


def count_pools(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[int | None]:
    """Make `module` start its process pools through a subclass that records each pool's size;
    returns the list it records them in."""
    sizes: list[int | None] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(module, "ProcessPoolExecutor", CountedPool)
    return sizes
