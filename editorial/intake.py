"""Taking one rating or comment from a reader: the piece, the honeypot, the limits, the write.

The HTTP layer (JSON API and plain HTML forms alike) calls these and nothing else, so that every
way in obeys the same rules."""

from __future__ import annotations

from sqlmodel import Session

from editorial.feedback import (
    CommentInput,
    RatingSummary,
    Visitor,
    post_comment,
    public_piece_id,
    rate,
    rating_summary,
)
from editorial.models import Comment, CommentStatus
from editorial.moderation import maybe_purge
from editorial.readers import Reader, check_limits
from editorial.settings import Settings


def submit_rating(
    session: Session,
    settings: Settings,
    slug: str,
    reader: Reader,
    visitor: Visitor,
    stars: int,
    honeypot: str = "",
) -> RatingSummary:
    """Rate a public piece as this reader; returns the piece's summary afterwards.

    A filled-in honeypot gets the same answer as a real rating but writes nothing."""
    piece_id = public_piece_id(session, slug)
    if not honeypot:
        check_limits(session, settings, reader, visitor.network, "rating")
        rate(session, piece_id, visitor, stars)
        maybe_purge(session, settings)
        session.commit()
    return rating_summary(session, piece_id, settings)


def submit_comment(
    session: Session,
    settings: Settings,
    slug: str,
    reader: Reader,
    visitor: Visitor,
    given: CommentInput,
    honeypot: str = "",
) -> tuple[int | None, str]:
    """Comment on a public piece; returns the new comment's id and what the reader is told.

    Spam and honeypot catches look like held comments to the sender, who learns nothing."""
    piece_id = public_piece_id(session, slug)
    if honeypot:
        return None, CommentStatus.PENDING
    check_limits(session, settings, reader, visitor.network, "comment")
    comment: Comment = post_comment(session, settings, piece_id, visitor, given)
    maybe_purge(session, settings)
    session.commit()
    shown = CommentStatus.APPROVED if comment.status == CommentStatus.APPROVED else "pending"
    return comment.id, shown
