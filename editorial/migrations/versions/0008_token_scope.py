"""apitoken: a scope, so that a calendar subscription link opens the feed and nothing else

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:45:00.000000

The dashboard's "subscribe" link used to carry a full API token: anyone holding the link (a
calendar service it was pasted into, a forwarded invitation) could call the whole API as its
owner. Tokens made for the link are now `calendar-feed` tokens, which the API refuses. Tokens
that exist already keep the `api` scope, so links made before still work.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apitoken") as batch:
        batch.add_column(sa.Column("scope", sa.String(20), nullable=False, server_default="api"))


def downgrade() -> None:
    with op.batch_alter_table("apitoken") as batch:
        batch.drop_column("scope")
