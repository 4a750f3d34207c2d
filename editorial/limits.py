"""Rate limits kept in the store, so that every app process enforces the same limit.

Each limit is a fixed-window counter: one row per key and window, bumped by one atomic
INSERT … ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from editorial import clock
from editorial.models import Throttle


def _window(length: timedelta) -> tuple[int, int]:
    seconds = max(1, int(length.total_seconds()))
    return seconds, int(clock.now().timestamp()) // seconds


def hit(session: Session, key: str, length: timedelta) -> int:
    """Count one event for `key` in the current window; returns the window's count so far."""
    seconds, window = _window(length)
    expires = clock.now() + timedelta(seconds=seconds)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Throttle)
        .values(key=key, window=window, hits=1, expires_at=expires)
        .on_conflict_do_update(
            index_elements=["key", "window"], set_={"hits": Throttle.__table__.c.hits + 1}
        )
        .returning(Throttle.__table__.c.hits)
    )
    return int(session.execute(statement).scalar_one())


def allow(session: Session, key: str, limit: int, length: timedelta) -> bool:
    """Count one event and say whether it stays within `limit` per window."""
    return hit(session, key, length) <= limit


def count(session: Session, key: str, length: timedelta) -> int:
    """Events counted for `key` in the current window, without adding one."""
    _seconds, window = _window(length)
    row = session.exec(
        select(Throttle.hits).where(Throttle.key == key, Throttle.window == window)
    ).first()
    return row or 0


def purge(session: Session) -> int:
    """Drop counters whose window has passed; returns how many."""
    result = session.exec(delete(Throttle).where(col(Throttle.expires_at) <= clock.now()))
    return result.rowcount or 0
