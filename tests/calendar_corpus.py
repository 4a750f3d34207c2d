"""A small, fully known calendar corpus shared by the calendar tests (clock frozen at
Monday 2026-06-01 12:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from editorial import auth
from editorial.models import Piece, PieceTerm, User

TAXONOMY = """\
audience: [cio, finance, sales]
stage: [awareness, consideration, purchase]
topic: [cloud, analytics, security, ai]
format: [blog-post, white-paper]
targets:
  horizon_weeks: 4
  pieces_per_week: 1
  topic_cadence_weeks: 4
  topic: {security: 0}
"""
PASSWORD = "correct horse battery"


def at(text: str) -> datetime:
    """An aware UTC moment from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# slug: (status, assignee, due, publish, audience, stage, topic, format)
PIECES = {
    "cloud-plan": ("planned", "ada@example.com", "2026-06-05", "2026-06-16T09:00", "cio", "awareness", "cloud", "blog-post"),
    "analytics-sched": ("scheduled", "bob@example.com", None, "2026-06-03T15:30", "finance", "consideration", "analytics", "white-paper"),
    "cloud-live": ("scheduled", None, None, "2026-05-20T09:00", "cio", "purchase", "cloud", "blog-post"),
    "old-analytics": ("published", None, None, "2026-03-02T09:00", "sales", "awareness", "analytics", "blog-post"),
    "idea-one": ("idea", "ada@example.com", None, None, "cio", "awareness", "ai", "blog-post"),
    "planned-undated": ("planned", None, None, None, "finance", "purchase", "cloud", "white-paper"),
    "draft-undated": ("draft", "ada@example.com", None, None, "sales", "awareness", "cloud", "blog-post"),
    "far-future": ("planned", "bob@example.com", None, "2027-01-01", "cio", "awareness", "analytics", "blog-post"),
}  # fmt: skip


def write_taxonomy(content_dir: Path) -> None:
    """The corpus's taxonomy in place of the fixture site's."""
    (content_dir / "taxonomy.yaml").write_text(TAXONOMY, encoding="utf-8")


def add_piece(session: Session, slug: str, row: tuple) -> Piece:
    status, assignee, due, publish, *terms = row
    piece = Piece(
        slug=slug,
        title=slug.replace("-", " ").capitalize(),
        status=status,
        assignee=assignee,
        due_at=at(due) if due else None,
        publish_at=at(publish) if publish else None,
        format=terms[3],
    )
    session.add(piece)
    session.flush()
    assert piece.id is not None
    for dimension, term in zip(("audience", "stage", "topic", "format"), terms, strict=True):
        session.add(PieceTerm(piece_id=piece.id, dimension=dimension, term=term))
    return piece


def build(session: Session, password: str | None = None) -> dict[str, User]:
    """The corpus pieces (plus one whose file went missing) and three people; passwords (slow
    to hash) only for tests that sign in."""
    for slug, row in PIECES.items():
        add_piece(session, slug, row)
    gone = add_piece(session, "gone", ("published", None, None, "2026-06-02", "cio", "awareness", "cloud", "blog-post"))  # fmt: skip
    gone.missing_since = at("2026-05-30")
    people = {
        "eve": auth.create_user(session, "Eve Editor", "eve@example.com", "editor", password),
        "ada": auth.create_user(session, "Ada Expert", "ada@example.com", "contributor", password),
        "bob": auth.create_user(session, "Bob Expert", "bob@example.com", "contributor", password),
    }
    session.commit()
    return people
