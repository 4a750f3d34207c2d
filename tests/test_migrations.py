"""Migrations keep data: a store made at every earlier revision, with rows in it, upgrades to
head with its rows intact; the newest migration downgrades and upgrades again with data in it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    select,
)

from editorial.db import alembic_config, current_revision, head_revision, make_engine, upgrade

AT = datetime(2026, 5, 1, 9, 30, 15, 250, tzinfo=UTC)
# One representative row per table, by column. Columns a revision lacks are left out; columns it
# has that are not here (added later by others) get a plain value of their type.
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "piece": [
        {"id": 11, "slug": "cloud-costs", "title": "Cloud costs, plainly", "summary": "Sum.",
         "status": "published", "format": "blog-post", "author": "Ann", "assignee": "Bo",
         "publish_at": AT, "expire_at": None, "due_at": AT, "review_by": date(2026, 12, 1),
         "derived_from": None, "word_count": 120, "reading_minutes": 1, "body": "Body *one*.",
         "html": "<p>Body <em>one</em>.</p>", "front_matter": {"title": "Cloud costs, plainly",
         "topic": ["cloud"]}, "source_path": "posts/cloud-costs.md", "source_hash": "a" * 32,
         "source_stat": "10:20", "missing_since": None, "version": 3, "created_at": AT,
         "updated_at": AT},
    ],
    "pieceterm": [
        {"piece_id": 11, "dimension": "topic", "term": "cloud"},
        {"piece_id": 11, "dimension": "audience", "term": "cfo"},
    ],
    "revision": [
        {"id": 5, "piece_id": 11, "number": 1, "created_at": AT, "actor": "file",
         "origin": "file", "source_hash": "a" * 32, "title": "Cloud costs, plainly",
         "front_matter": {"title": "Cloud costs, plainly"}, "body": "Body *one*.", "note": "first"},
    ],
    "storestate": [{"key": "ingest.fingerprint", "value": "abc"}],
    "user": [
        {"id": 3, "name": "Ed Itor", "email": "ed@example.com", "role": "editor",
         "password_hash": "$argon2id$x", "active": True, "created_at": AT},
    ],
    "apitoken": [{"id": 4, "user_id": 3, "token_hash": "b" * 64, "created_at": AT}],
    "loginsession": [
        {"id": "c" * 64, "user_id": 3, "csrf_token": "d" * 32, "created_at": AT, "expires_at": AT}
    ],
    "throttle": [{"key": "login:ed@example.com", "window": 42, "hits": 2, "expires_at": AT}],
    "reviewnote": [
        {"id": 6, "piece_id": 11, "user_id": 3, "revision_number": 1, "kind": "note",
         "body": "Tighten the intro.", "created_at": AT},
    ],
    "rating": [
        {"id": 7, "piece_id": 11, "reader": "r" * 64, "stars": 4, "ip_hash": "e" * 16,
         "created_at": AT, "updated_at": AT},
    ],
    "comment": [
        {"id": 8, "piece_id": 11, "parent_id": None, "reader": "r1", "name": "Ann",
         "body": "Useful.", "html": "<p>Useful.</p>", "status": "approved", "ip_hash": None,
         "created_at": AT},
        {"id": 9, "piece_id": 11, "parent_id": 8, "reader": "r2", "name": "Bo", "body": "+1",
         "html": "<p>+1</p>", "status": "pending", "ip_hash": None, "created_at": AT},
    ],
}  # fmt: skip


def revisions() -> list[str]:
    """Every migration, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def reflect(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return {t.name: t for t in metadata.sorted_tables}


def filler(column: Any) -> Any:
    """A plain value for a required column the samples do not know."""
    kind = column.type
    for sa_type, value in ((Boolean, False), (Integer, 0), (DateTime, AT), (Date, AT.date())):
        if isinstance(kind, sa_type):
            return value
    return {} if isinstance(kind, JSON) else "x"


def insert_samples(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Insert the samples into whatever tables the store has now; returns what was inserted."""
    inserted: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as connection:
        for name, table in reflect(connection).items():
            if name not in SAMPLES:
                continue
            rows = [_fit(table, sample) for sample in SAMPLES[name]]
            connection.execute(table.insert(), rows)
            inserted[name] = rows
    return inserted


def _fit(table: Table, sample: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in sample.items() if k in table.columns}
    for column in table.columns:
        required = not column.nullable and column.server_default is None
        if column.name not in row and required:
            row[column.name] = filler(column)
    return row


def normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def assert_rows_kept(engine: Engine, inserted: dict[str, list[dict[str, Any]]]) -> None:
    """Every inserted row is still there with the same values in the columns still present."""
    with engine.connect() as connection:
        tables = reflect(connection)
        for name, rows in inserted.items():
            table = tables[name]
            found = [dict(r) for r in connection.execute(select(table)).mappings()]
            assert len(found) == len(rows), name
            for row in rows:
                kept = {k: normal(v) for k, v in row.items() if k in table.columns}
                matches = [f for f in found if all(normal(f[k]) == v for k, v in kept.items())]
                assert matches, f"{name}: lost {kept}"


@pytest.mark.parametrize("start", revisions()[:-1])
def test_a_store_at_an_earlier_revision_upgrades_with_its_data(
    database_url: str, start: str
) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, start)
        assert current_revision(engine) == start
        inserted = insert_samples(engine)
        assert {"piece", "pieceterm", "revision"} <= set(inserted)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert_rows_kept(engine, inserted)
    finally:
        engine.dispose()


def test_the_newest_migration_downgrades_and_upgrades_with_data(database_url: str) -> None:
    newest, previous = revisions()[-1], revisions()[-2]
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        inserted = insert_samples(engine)
        command.downgrade(alembic_config(engine), previous)
        assert current_revision(engine) == previous
        assert_rows_kept(engine, inserted)
        upgrade(engine)
        assert current_revision(engine) == newest
        assert_rows_kept(engine, inserted)
    finally:
        engine.dispose()


def test_the_walk_covers_every_migration_file() -> None:
    from editorial.db import MIGRATIONS

    files = sorted(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert sorted(revisions()) == files
    assert revisions()[0] == "0001"


def test_pieces_learn_when_they_last_changed_as_far_as_the_store_knows(
    database_url: str,
) -> None:
    """0010 takes a piece's front matter `lastmod`, else the last write to a piece the store has
    revised, else nothing (readers are shown its publish date)."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0009")
        piece = SAMPLES["piece"][0]
        samples = {
            1: {"version": 1},
            2: {"version": 3},
            3: {"version": 1, "front_matter": {"lastmod": "2025-05-10T08:30:00+02:00"}},
            4: {"version": 2, "front_matter": {"modified": "not a date"}},
        }
        with engine.begin() as connection:
            table = reflect(connection)["piece"]
            rows = [
                _fit(table, piece | {"id": id_, "slug": f"p{id_}"} | values)
                for id_, values in samples.items()
            ]
            connection.execute(table.insert(), rows)
        upgrade(engine)
        with engine.connect() as connection:
            table = reflect(connection)["piece"]
            found = dict(connection.execute(select(table.c.id, table.c.modified_at)).all())
        assert {id_: normal(moment) for id_, moment in found.items()} == {
            1: None,
            2: AT,
            3: datetime(2025, 5, 10, 6, 30, tzinfo=UTC),
            4: AT,
        }
    finally:
        engine.dispose()
