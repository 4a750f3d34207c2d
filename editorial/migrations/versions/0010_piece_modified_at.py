"""piece.modified_at: when a piece last changed for its readers, as far as the store knows

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:45:00.000000

Feeds, the sitemap and the piece page's `dateModified` gave `updated_at`, the store's last write
to the piece. A store built afresh from the same files therefore dated every piece to the day of
that build. They now give the piece's `modified_at` (front matter `lastmod` or `modified`, or the
moment the store saw its content change), and never a moment before its publish date.

Existing pieces get their front matter's `lastmod` or `modified` where they have one. Otherwise
a piece the store has revised since it first arrived (version 2 or more) gets its `updated_at`,
the best the store knows; the others keep none, and show their publish date.
The catalog's covering index (SQLite) gains the column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_CATALOG_COLUMNS = [
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
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # A plain ALTER TABLE: a batch operation would copy the table, which its triggers forbid.
    op.add_column("piece", sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True))
    _backfill()
    if _sqlite():
        op.drop_index("ix_piece_catalog", table_name="piece")
        op.create_index("ix_piece_catalog", "piece", [*OLD_CATALOG_COLUMNS, "modified_at"])


def downgrade() -> None:
    if _sqlite():
        op.drop_index("ix_piece_catalog", table_name="piece")
        op.create_index("ix_piece_catalog", "piece", OLD_CATALOG_COLUMNS)
    op.drop_column("piece", "modified_at")


def _backfill() -> None:
    piece = sa.table(
        "piece",
        sa.column("id", sa.Integer()),
        sa.column("version", sa.Integer()),
        sa.column("updated_at", sa.DateTime()),
        sa.column("front_matter", sa.JSON()),
        sa.column("modified_at", sa.DateTime()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(piece.c.id, piece.c.version, piece.c.updated_at, piece.c.front_matter)
    )
    values = []
    for id_, version, updated_at, front_matter in rows:
        moment = _stated(front_matter) or (updated_at if version > 1 else None)
        if moment is not None:
            values.append({"b_id": id_, "modified_at": _utc(moment)})
    if values:
        statement = piece.update().where(piece.c.id == sa.bindparam("b_id"))
        connection.execute(statement, values)


def _stated(front_matter: Any) -> datetime | None:
    """The front matter's own `lastmod` or `modified`, as ingest stored it (ISO text)."""
    if not isinstance(front_matter, dict):
        return None
    for key in ("lastmod", "modified"):
        try:
            moment = datetime.fromisoformat(str(front_matter[key]).strip())
        except (KeyError, ValueError):
            continue
        return moment
    return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
