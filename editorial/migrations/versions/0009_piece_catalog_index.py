"""piece (SQLite): a covering index for the public catalog, and one for pieces with aliases

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 19:00:00.000000

The catalog (every public piece's metadata, read by the live site and by every export) read
`version` and `updated_at`, which SQLite stores after a piece's wide `body` and `html`, and
tested `front_matter` for aliases, stored after them too: its query walked every piece's
overflow pages. It now reads the first index alone, and the front matter of only the pieces the
second (partial) index holds. PostgreSQL keeps wide values out of its rows, so it gets neither.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CATALOG_COLUMNS = [
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
ALIASED_SQL = "CAST(front_matter AS VARCHAR) LIKE '%\"aliases\"%'"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        op.create_index("ix_piece_catalog", "piece", CATALOG_COLUMNS, unique=False)
        op.create_index("ix_piece_aliased", "piece", ["id"], sqlite_where=sa.text(ALIASED_SQL))


def downgrade() -> None:
    if _sqlite():
        op.drop_index("ix_piece_aliased", table_name="piece")
        op.drop_index("ix_piece_catalog", table_name="piece")
