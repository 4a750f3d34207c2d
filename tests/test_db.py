"""Schema management: migrations build exactly the models' schema, and upgrade is idempotent."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from editorial import clock
from editorial.catalog import _aliased_query, _catalog_query
from editorial.db import HEAD, alembic_config, current_revision, head_revision, make_engine, upgrade
from editorial.models import SQLITE_ONLY_INDEXES
from editorial.pieces import newest_first, public_filter


def test_migrations_match_the_models(engine: Engine) -> None:
    sqlite = engine.dialect.name == "sqlite"

    def made_here(item: object, name: str | None, kind: str, *_: object) -> bool:
        """An index the models make on SQLite alone is compared on SQLite alone."""
        return sqlite or kind != "index" or name not in SQLITE_ONLY_INDEXES

    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": made_here}
        context = MigrationContext.configure(connection, opts=options)
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


def test_the_catalog_reads_its_indexes_and_never_the_wide_rows(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL keeps wide values out of its rows")
    catalog = _catalog_query().where(public_filter(clock.now())).order_by(*newest_first())
    with engine.connect() as connection:
        plans = [
            [
                str(row[-1])
                for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN "
                    + str(query.compile(engine, compile_kwargs={"literal_binds": True}))
                )
                if " piece " in f"{row[-1]} "
            ]
            for query in (catalog, _aliased_query())
        ]
    assert plans[0] and all("COVERING INDEX ix_piece_catalog" in step for step in plans[0])
    assert plans[1] == ["SCAN piece USING INDEX ix_piece_aliased"]
