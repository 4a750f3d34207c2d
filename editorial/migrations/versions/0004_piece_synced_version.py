"""piece.synced_version: the version last in step with the source file

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30 03:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.add_column(sa.Column("synced_version", sa.Integer(), nullable=True))
    # Pieces read from files so far are in step with their files.
    op.execute("UPDATE piece SET synced_version = version WHERE source_path IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.drop_column("synced_version")
