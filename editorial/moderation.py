"""Moderating readers' comments, and forgetting where feedback came from once it is old."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from editorial import clock, limits
from editorial.db import names_a_row
from editorial.models import Comment, CommentStatus, Piece, Rating
from editorial.settings import Settings

ACTIONS = {
    "approve": CommentStatus.APPROVED,
    "reject": CommentStatus.REJECTED,
    "spam": CommentStatus.SPAM,
}
PURGE_ODDS = 100  # one write in this many also purges expired address hashes and counters


class ModerationError(ValueError):
    """A moderation request that cannot be carried out, with what to do instead."""


def moderate(session: Session, comment_ids: list[int], action: str) -> int:
    """Approve, reject or mark as spam every comment in `comment_ids`; returns how many changed
    (one that already had that status is not counted)."""
    status = ACTIONS.get(action)
    if status is None:
        raise ModerationError(f"Unknown action {action!r}: use approve, reject or spam.")
    ids = sorted({int(i) for i in comment_ids})
    if not ids:
        raise ModerationError("Select at least one comment.")
    ids = [i for i in ids if names_a_row(i)]  # no comment has any other id
    table = Comment.__table__  # type: ignore[attr-defined]
    changed = update(table).where(table.c.id.in_(ids), table.c.status != status)
    result = session.execute(changed.values(status=status))
    return result.rowcount or 0


def waiting_count(session: Session) -> int:
    """How many comments wait for moderation (held ones; spam is kept apart)."""
    statement = select(func.count()).select_from(Comment)
    return session.exec(statement.where(Comment.status == CommentStatus.PENDING)).one()


@dataclass
class QueueItem:
    """A comment as the moderation queue lists it."""

    id: int
    piece_slug: str
    piece_title: str
    name: str
    body: str
    html: str
    status: str
    created_at: datetime
    reply: bool


def queue(session: Session, status: str = CommentStatus.PENDING, limit: int = 200) -> list:
    """Comments with `status`, oldest first, with the piece each belongs to."""
    rows = session.exec(
        select(Comment, Piece.slug, Piece.title)
        .join(Piece, col(Piece.id) == col(Comment.piece_id))
        .where(Comment.status == status)
        .order_by(col(Comment.created_at), col(Comment.id))
        .limit(limit)
    ).all()
    return [
        QueueItem(
            c.id or 0,
            slug,
            title,
            c.name,
            c.body,
            c.html,
            c.status,
            c.created_at,
            c.parent_id is not None,
        )
        for c, slug, title in rows
    ]


def status_counts(session: Session) -> dict[str, int]:
    """How many comments have each status."""
    rows = session.exec(select(Comment.status, func.count()).group_by(col(Comment.status)))
    counts = dict(rows.all())
    return {s.value: counts.get(s.value, 0) for s in CommentStatus}


@dataclass
class PurgeReport:
    """What one purge forgot."""

    ratings: int = 0
    comments: int = 0
    counters: int = 0


def purge(session: Session, settings: Settings, at: datetime | None = None) -> PurgeReport:
    """Drop address hashes older than the retention period, and rate-limit counters that ended."""
    cutoff = (at or clock.now()) - timedelta(days=settings.ip_retention_days)
    ratings = Rating.__table__  # type: ignore[attr-defined]
    comments = Comment.__table__  # type: ignore[attr-defined]
    old_ratings = session.execute(
        update(ratings)
        .where(ratings.c.ip_hash.is_not(None), ratings.c.updated_at <= cutoff)
        .values(ip_hash=None)
    )
    old_comments = session.execute(
        update(comments)
        .where(comments.c.ip_hash.is_not(None), comments.c.created_at <= cutoff)
        .values(ip_hash=None)
    )
    return PurgeReport(old_ratings.rowcount or 0, old_comments.rowcount or 0, limits.purge(session))


def maybe_purge(session: Session, settings: Settings) -> None:
    """Purge now and then, on a small fraction of writes, so that no scheduler is needed."""
    if random.randrange(PURGE_ODDS) == 0:
        purge(session, settings)
