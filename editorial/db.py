"""Engines, sessions and schema upgrades. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration; a test checks it against the scripts, so that the common case (store
# already current) needs no Alembic import at start-up.
HEAD = "0010"
# Ids and revision numbers are INTEGER columns: 32 bits on PostgreSQL, and a larger Python int
# overflows SQLite's driver. A number outside 1..MAX_ROW_NUMBER names no row, so input is checked
# against it before it reaches a query.
MAX_ROW_NUMBER = 2**31 - 1


def names_a_row(number: int) -> bool:
    """Whether `number` could be a stored id or revision number."""
    return 1 <= number <= MAX_ROW_NUMBER


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a patient lock timeout."""
    # As many pooled connections as the server has worker threads (40), so that a busy process
    # neither waits for a connection nor opens and closes one per request.
    if not _in_memory(url) and "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 30)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def upsert_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT clauses for this dialect (imported only when asked
    for: the PostgreSQL dialect alone costs commands 85 ms to import)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and make_url(url).database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration (bound to `engine` when given); no ini file is needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The store's Alembic revision, or None for an empty store."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


class StoreError(Exception):
    """A store this code cannot use as it is, with what to do about it."""


def known_revisions() -> list[str]:
    """Every schema revision this code's migrations know, newest first."""
    from alembic.script import ScriptDirectory

    return [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]


def head_revision() -> str | None:
    """The newest migration shipped with this code, read from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the schema up to `revision`; returns whether anything had to change. A store at a
    revision no migration here knows (a newer Editorial wrote it) is a StoreError."""
    current = current_revision(engine)
    if revision == "head" and current == HEAD:
        return False
    if current is not None and current not in known_revisions():
        raise StoreError(
            f"the store is at schema revision {current}, which this Editorial does not know: "
            "a newer Editorial wrote it; run that version (or a newer one) on it"
        )
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
    return True


@contextmanager
def autocommit_session(engine: Engine) -> Iterator[Session]:
    """A session whose statements each commit as they run, for writes that are one statement
    each (a rating). The store's write lock is then held only while a statement runs, never
    while the thread waits for the interpreter between statements, and PostgreSQL saves the
    BEGIN and COMMIT round trips. Objects keep their values after a commit (reading them
    again would cost a round trip for what the session has just written)."""
    with (
        engine.connect() as connection,
        Session(bind=connection, expire_on_commit=False) as session,
    ):
        connection.execution_options(isolation_level="AUTOCOMMIT")
        yield session


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
