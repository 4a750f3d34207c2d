"""piece: a covering index for what ingest and the change check read of every piece

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:10:00.000000

On SQLite a piece's small columns after `body` and `html` (its source stamp, version and times)
are stored past the row's first page, so reading them for every piece walked every piece's
overflow pages: most of a no-op ingest's store time and of the export's change check. Both
now read this index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = [
    "source_path",
    "slug",
    "source_hash",
    "source_stat",
    "version",
    "synced_version",
    "missing_since",
    "updated_at",
]


def upgrade() -> None:
    op.create_index("ix_piece_sync", "piece", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_piece_sync", table_name="piece")
