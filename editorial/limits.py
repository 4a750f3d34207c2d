"""Rate limits kept in the store, so that every app process enforces the same limit.

Each limit is a fixed-window counter: one row per key and window, bumped by one atomic
INSERT … ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import DateTime, TextClause, bindparam, text
from sqlmodel import Session, col, delete, select

from editorial import clock
from editorial.models import Throttle


def _window(length: timedelta, now: datetime) -> tuple[int, int]:
    seconds = max(1, int(length.total_seconds()))
    return seconds, int(now.timestamp()) // seconds


@cache
def _count_hits(rows: int) -> TextClause:
    """One statement that counts a hit on `rows` counters and returns their new counts.

    Written out because SQLAlchemy compiles a many-row INSERT anew each time; this SQL reads
    the same on SQLite and PostgreSQL."""
    values = ", ".join(f"(:k{i}, :w{i}, 1, :e{i})" for i in range(rows))
    sql = (
        f'INSERT INTO throttle (key, "window", hits, expires_at) VALUES {values} '
        'ON CONFLICT (key, "window") DO UPDATE SET hits = throttle.hits + 1 RETURNING key, hits'
    )
    moments = [bindparam(f"e{i}", type_=DateTime(timezone=True)) for i in range(rows)]
    return text(sql).bindparams(*moments)


def hit_all(session: Session, keys: list[tuple[str, timedelta]]) -> dict[str, int]:
    """Count one event on each (key, window length) in one round trip; returns the counts so far."""
    now, parameters = clock.now(), {}
    for i, (key, length) in enumerate(keys):
        seconds, window = _window(length, now)
        parameters |= {f"k{i}": key, f"w{i}": window}
        parameters[f"e{i}"] = now + timedelta(seconds=seconds)
    rows = session.connection().execute(_count_hits(len(keys)), parameters)
    return {row[0]: row[1] for row in rows}


def hit(session: Session, key: str, length: timedelta) -> int:
    """Count one event for `key` in the current window; returns the window's count so far."""
    return hit_all(session, [(key, length)])[key]


def allow(session: Session, key: str, limit: int, length: timedelta) -> bool:
    """Count one event and say whether it stays within `limit` per window."""
    return hit(session, key, length) <= limit


def count(session: Session, key: str, length: timedelta) -> int:
    """Events counted for `key` in the current window, without adding one."""
    _seconds, window = _window(length, clock.now())
    row = session.exec(
        select(Throttle.hits).where(Throttle.key == key, Throttle.window == window)
    ).first()
    return row or 0


def purge(session: Session) -> int:
    """Drop counters whose window has passed; returns how many."""
    result = session.exec(delete(Throttle).where(col(Throttle.expires_at) <= clock.now()))
    return result.rowcount or 0
