"""The store's tables (SQLModel). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from editorial import clock


class Status(StrEnum):
    """Where a piece stands in its lifecycle, in lifecycle order."""

    IDEA = "idea"
    PLANNED = "planned"
    DRAFT = "draft"
    REVIEW = "review"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    ARCHIVED = "archived"


COVERAGE_COLUMNS = (
    "status",
    "publish_at",
    "due_at",
    "expire_at",
    "review_by",
    "created_at",
    "missing_since",
)
# What ingest reads of every piece, and what the change check sums (see migration 0007).
SYNC_COLUMNS = (
    "source_path",
    "slug",
    "source_hash",
    "source_stat",
    "version",
    "synced_version",
    "missing_since",
    "updated_at",
)
# What the public catalog reads of every piece (see migrations 0009 and 0010). SQLite keeps
# `version`, `updated_at` and `modified_at` after the wide `body` and `html` in each row, so
# reading them there walks every piece's overflow pages; PostgreSQL keeps wide values out of the
# row and needs no copy.
CATALOG_COLUMNS = (
    "status",
    "publish_at",
    "expire_at",
    "missing_since",
    "created_at",
    "id",
    "slug",
    "title",
    "summary",
    "author",
    "format",
    "updated_at",
    "reading_minutes",
    "derived_from",
    "version",
    "modified_at",
)
# The few pieces whose front matter names aliases: the catalog reads only theirs.
ALIASED_SQL = "CAST(front_matter AS VARCHAR) LIKE '%\"aliases\"%'"
SQLITE_ONLY_INDEXES = ("ix_piece_catalog", "ix_piece_aliased")
DIMENSIONS = ("audience", "stage", "topic", "format")
COVERAGE_DIMENSIONS = ("audience", "stage", "topic")
FREE_TAG = "tag"
API_SCOPE = "api"  # a token for the whole API, as the signed-in user
FEED_SCOPE = "calendar-feed"  # a token that opens only its user's ICS feed


class PieceBase(SQLModel):
    """The fields a piece shows to the world."""

    slug: str = Field(max_length=200, unique=True, index=True)
    title: str
    summary: str = Field(default="", sa_type=Text)
    status: str = Field(default=Status.PUBLISHED, max_length=20, index=True)
    format: str | None = Field(default=None, max_length=100)
    author: str | None = None
    assignee: str | None = None
    publish_at: datetime | None = Field(default=None, index=True)
    expire_at: datetime | None = None
    due_at: datetime | None = None
    review_by: date | None = None
    derived_from: str | None = Field(default=None, max_length=200)
    word_count: int = 0
    reading_minutes: int = 0


class Piece(PieceBase, table=True):
    """One unit of content with its lifecycle; `html` is the cached render of `body`."""

    # Every column the coverage report tests, every column ingest and the change check read of
    # every piece, and (on SQLite) every column the public catalog reads, so that they read
    # these indexes and never the wide rows.
    __table_args__ = (
        Index("ix_piece_coverage", *COVERAGE_COLUMNS),
        Index("ix_piece_sync", *SYNC_COLUMNS),
        Index("ix_piece_catalog", *CATALOG_COLUMNS).ddl_if(dialect="sqlite"),
        Index("ix_piece_aliased", "id", sqlite_where=text(ALIASED_SQL)).ddl_if(dialect="sqlite"),
    )

    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(default="", sa_type=Text)
    html: str = Field(default="", sa_type=Text)
    front_matter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    source_path: str | None = Field(default=None, index=True)
    source_hash: str | None = Field(default=None, max_length=64)
    source_stat: str | None = Field(default=None, max_length=64)
    missing_since: datetime | None = None
    version: int = 1
    # The version last written from (or to) the source file: a piece whose version differs
    # has changed through the service since, so a changed file is a conflict, not an update.
    synced_version: int | None = None
    created_at: datetime = Field(default_factory=lambda: clock.now())
    updated_at: datetime = Field(default_factory=lambda: clock.now(), index=True)
    # When the piece last changed for its readers, as far as known: its front matter's
    # `lastmod`, or the moment the store saw its content change. None until either is known:
    # readers are then shown the publish date rather than `updated_at`, which a store built
    # afresh from the files sets to the moment of that build.
    modified_at: datetime | None = None


class PieceTerm(SQLModel, table=True):
    """One tag of a piece on one dimension; one table for every dimension."""

    __table_args__ = (Index("ix_pieceterm_dimension_term", "dimension", "term", "piece_id"),)

    piece_id: int = Field(foreign_key="piece.id", primary_key=True, ondelete="CASCADE")
    dimension: str = Field(primary_key=True, max_length=40)
    term: str = Field(primary_key=True, max_length=200)


class PieceCell(SQLModel, table=True):
    """Derived: one row per piece and audience x stage x topic cell it is tagged for, with
    the piece's coverage columns. Database triggers (migration 0006) keep it in step with
    `piece` and `pieceterm`; only ingest on SQLite writes it directly, making a batch's cells in
    one statement with the insert triggers set aside (`ingest_store._cells_in_bulk`). Dumps
    leave it out. Ordered by cell, so that the coverage report reads it in one pass without
    sorting."""

    __table_args__ = (
        Index("ix_piececell_piece_id", "piece_id"),
        {"sqlite_with_rowid": False, "info": {"derived": True}},
    )

    audience: str = Field(primary_key=True, max_length=200)
    stage: str = Field(primary_key=True, max_length=200)
    topic: str = Field(primary_key=True, max_length=200)
    piece_id: int = Field(foreign_key="piece.id", primary_key=True, ondelete="CASCADE")
    status: str = Field(max_length=20)
    publish_at: datetime | None = None
    due_at: datetime | None = None
    expire_at: datetime | None = None
    review_by: date | None = None
    created_at: datetime
    missing_since: datetime | None = None


class Revision(SQLModel, table=True):
    """A full snapshot of a piece after one change: who, when, from where."""

    __table_args__ = (UniqueConstraint("piece_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="piece.id", index=True, ondelete="CASCADE")
    number: int
    created_at: datetime = Field(default_factory=lambda: clock.now())
    actor: str = Field(max_length=200)
    origin: str = Field(max_length=20)
    source_hash: str | None = Field(default=None, max_length=64)
    title: str
    front_matter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    body: str = Field(default="", sa_type=Text)
    note: str | None = None
    conflict: bool = False


class StoreState(SQLModel, table=True):
    """Small facts about the store itself, such as what the cached HTML was made with."""

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_type=Text)


class Role(StrEnum):
    """What a signed-in person may do: editors everything, contributors their own assignments."""

    EDITOR = "editor"
    CONTRIBUTOR = "contributor"


class User(SQLModel, table=True):
    """A member of the content team. There is no default account."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True, index=True)
    role: str = Field(default=Role.CONTRIBUTOR, max_length=20)
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = Field(default_factory=lambda: clock.now())


class ApiToken(SQLModel, table=True):
    """A bearer token for the API, or one that opens only its user's ICS feed (`scope`);
    only its SHA-256 is kept."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=lambda: clock.now())
    scope: str = Field(
        default=API_SCOPE, max_length=20, sa_column_kwargs={"server_default": API_SCOPE}
    )


class LoginSession(SQLModel, table=True):
    """A browser session; the cookie holds a secret whose SHA-256 is the key here."""

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=lambda: clock.now())
    expires_at: datetime = Field(index=True)


class Throttle(SQLModel, table=True):
    """One fixed-window counter of a rate limit, shared by every app process."""

    key: str = Field(primary_key=True, max_length=200)
    window: int = Field(primary_key=True)
    hits: int = 0
    expires_at: datetime = Field(index=True)


class ReviewNote(SQLModel, table=True):
    """An internal note between editor and contributor about a piece; never published."""

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="piece.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    revision_number: int | None = None
    kind: str = Field(default="note", max_length=20)
    body: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=lambda: clock.now())


class Rating(SQLModel, table=True):
    """One reader's stars for one piece; rating again replaces the earlier one."""

    __table_args__ = (UniqueConstraint("piece_id", "reader"),)

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="piece.id", index=True, ondelete="CASCADE")
    reader: str = Field(max_length=64)
    stars: int
    ip_hash: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=lambda: clock.now())
    updated_at: datetime = Field(default_factory=lambda: clock.now())


class CommentStatus(StrEnum):
    """Where a reader's comment stands in moderation."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"


class Comment(SQLModel, table=True):
    """A reader's comment; shown only once approved."""

    __table_args__ = (Index("ix_comment_piece_status", "piece_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="piece.id", ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="comment.id", ondelete="CASCADE")
    reader: str = Field(max_length=64)
    name: str = Field(max_length=100)
    body: str = Field(sa_type=Text)
    html: str = Field(default="", sa_type=Text)
    status: str = Field(default=CommentStatus.PENDING, max_length=20, index=True)
    ip_hash: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=lambda: clock.now(), index=True)


class PieceSummary(SQLModel):
    """A piece as lists show it."""

    slug: str
    title: str
    summary: str
    status: str
    format: str | None
    author: str | None
    publish_at: datetime | None
    reading_minutes: int
    terms: dict[str, list[str]] = Field(default_factory=dict)


class PiecePublic(PieceSummary):
    """A piece as the API shows it to a reader: rendered HTML, no internal fields."""

    html: str
    word_count: int
    derived_from: str | None
    modified: datetime  # when it last changed for its readers, as feeds and the sitemap say


class PieceList(SQLModel):
    """One page of a piece listing."""

    items: list[PieceSummary]
    total: int
    page: int
    per_page: int
