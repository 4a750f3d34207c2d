"""piece: a covering index for the coverage report

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = [
    "status",
    "publish_at",
    "due_at",
    "expire_at",
    "review_by",
    "created_at",
    "missing_since",
]


def upgrade() -> None:
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.create_index("ix_piece_coverage", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.drop_index("ix_piece_coverage")
