"""Schema management: migrations build exactly the models' schema, and upgrade is idempotent."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from editorial.db import HEAD, alembic_config, current_revision, head_revision, make_engine, upgrade


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_is_idempotent_and_reports_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == HEAD
    assert upgrade(engine) is False


def test_downgrade_to_empty_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    assert upgrade(engine) is True
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert upgrade(engine) is True
    assert {"piece", "pieceterm", "revision", "storestate"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_sqlite_store_uses_wal_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_term_queries_use_the_index(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table statistics")
    sql = "EXPLAIN QUERY PLAN SELECT piece_id FROM pieceterm WHERE dimension='topic' AND term='x'"
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(sql))
    assert "ix_pieceterm_dimension_term" in plan
