"""pieces, terms and revisions

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:43:22.076036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "piece",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=100), nullable=True),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.Column("derived_from", sa.String(length=200), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("reading_minutes", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("front_matter", sa.JSON(), nullable=True),
        sa.Column("source_path", sa.String(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("source_stat", sa.String(length=64), nullable=True),
        sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_piece_publish_at"), ["publish_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_piece_slug"), ["slug"], unique=True)
        batch_op.create_index(batch_op.f("ix_piece_source_path"), ["source_path"], unique=False)
        batch_op.create_index(batch_op.f("ix_piece_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_piece_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "storestate",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "pieceterm",
        sa.Column("piece_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["piece_id"], ["piece.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("piece_id", "dimension", "term"),
    )
    with op.batch_alter_table("pieceterm", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pieceterm_dimension_term", ["dimension", "term", "piece_id"], unique=False
        )

    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("piece_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("front_matter", sa.JSON(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["piece_id"], ["piece.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("piece_id", "number"),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revision_piece_id"), ["piece_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_piece_id"))

    op.drop_table("revision")
    with op.batch_alter_table("pieceterm", schema=None) as batch_op:
        batch_op.drop_index("ix_pieceterm_dimension_term")

    op.drop_table("pieceterm")
    op.drop_table("storestate")
    with op.batch_alter_table("piece", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_piece_updated_at"))
        batch_op.drop_index(batch_op.f("ix_piece_status"))
        batch_op.drop_index(batch_op.f("ix_piece_source_path"))
        batch_op.drop_index(batch_op.f("ix_piece_slug"))
        batch_op.drop_index(batch_op.f("ix_piece_publish_at"))

    op.drop_table("piece")
