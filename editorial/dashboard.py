"""What the dashboard's front page shows: pieces by status and the work waiting for someone."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, select

from editorial.models import Piece, Role, Status, User
from editorial.moderation import waiting_count


@dataclass
class Overview:
    """Counts for the dashboard's front page."""

    by_status: dict[str, int] = field(default_factory=dict)
    waiting_review: int = 0
    my_assignments: int = 0
    waiting_comments: int = 0


def overview(session: Session, user: User) -> Overview:
    """Pieces by status (an editor sees all; a contributor their own) and waiting work."""
    statement = select(Piece.status, func.count()).group_by(Piece.status)
    if user.role != Role.EDITOR:
        statement = statement.where(Piece.assignee == user.email)
    counts = {status: n for status, n in session.exec(statement)}
    result = Overview(by_status={s.value: counts.get(s.value, 0) for s in Status})
    result.waiting_review = result.by_status[Status.REVIEW]
    mine = select(func.count()).select_from(Piece).where(Piece.assignee == user.email)
    result.my_assignments = session.exec(
        mine.where(Piece.status.in_([Status.PLANNED, Status.DRAFT]))  # type: ignore[attr-defined]
    ).one()
    if user.role == Role.EDITOR:
        result.waiting_comments = waiting_count(session)
    return result
