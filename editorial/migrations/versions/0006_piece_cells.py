"""piececell: each piece's audience x stage x topic cells, kept by triggers

The coverage report counts every (piece, cell) pair; joining `pieceterm` three times and sorting
the pairs by cell made it slow on large stores. `piececell` holds those pairs with the piece's
coverage columns, keyed by cell, so the report reads it once in key order. Triggers on `piece`
and `pieceterm` keep it in step with whatever writes them (ingest, the workflow, commissioning,
restore, a plain SQL session), so it is derived data: never written directly, never dumped.

SQLite drops a table's triggers when a batch migration rebuilds the table: a later migration that
rebuilds `piece` or `pieceterm` must create these triggers again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the piece's columns copied into each of its cells
COPIED = ("status", "publish_at", "due_at", "expire_at", "review_by", "created_at", "missing_since")
COLUMNS = ", ".join(("audience", "stage", "topic", "piece_id", *COPIED))
PIECE_COLUMNS = ", ".join(f"p.{c}" for c in COPIED)
CELLS = f"""
    SELECT a.term, s.term, t.term, p.id, {PIECE_COLUMNS}
    FROM piece AS p
    JOIN pieceterm AS a ON a.piece_id = p.id AND a.dimension = 'audience'
    JOIN pieceterm AS s ON s.piece_id = p.id AND s.dimension = 'stage'
    JOIN pieceterm AS t ON t.piece_id = p.id AND t.dimension = 'topic'"""
COVERAGE_DIMENSIONS = "('audience', 'stage', 'topic')"
ADDED = {d: f"piececell_{d}_added" for d in ("audience", "stage", "topic")}


def _term_of(row: str, audience: str, stage: str, topic: str) -> str:
    """SQL for the cell column that `row` (OLD or NEW) of pieceterm names; NULL for a format."""
    return (
        f"CASE {row}.dimension WHEN 'audience' THEN {audience} WHEN 'stage' THEN {stage} "
        f"WHEN 'topic' THEN {topic} END"
    )


def _add(dimension: str) -> str:
    """Insert the cells that a new `dimension` term (row NEW) completes: the term with each of
    the piece's terms on the two other dimensions.

    PostgreSQL runs row triggers once the whole statement is done, so the terms of a piece
    inserted together see each other's cells: the first to run inserts them, the rest skip."""
    x, y = (d for d in ("audience", "stage", "topic") if d != dimension)
    terms = {dimension: "NEW.term", x: "x.term", y: "y.term"}
    return f"""INSERT INTO piececell ({COLUMNS})
    SELECT {terms["audience"]}, {terms["stage"]}, {terms["topic"]}, p.id, {PIECE_COLUMNS}
    FROM pieceterm AS x
    JOIN pieceterm AS y ON y.piece_id = x.piece_id AND y.dimension = '{y}'
    JOIN piece AS p ON p.id = x.piece_id
    WHERE x.piece_id = NEW.piece_id AND x.dimension = '{x}'
    ON CONFLICT DO NOTHING;"""


def _remove(row: str) -> str:
    """Delete the cells that the pieceterm `row` was part of."""
    return (
        f"DELETE FROM piececell WHERE piece_id = {row}.piece_id "
        f"AND {row}.term = {_term_of(row, 'audience', 'stage', 'topic')};"
    )


def _refill() -> str:
    """Rebuild the cells of the pieces an updated pieceterm row left and joined (rare, and
    right in whatever order the rows of one statement are handled)."""
    pieces = "(OLD.piece_id, NEW.piece_id)"
    return (
        f"DELETE FROM piececell WHERE piece_id IN {pieces};\n"
        f"INSERT INTO piececell ({COLUMNS}){CELLS}\n    WHERE p.id IN {pieces};"
    )


def _copy_piece() -> str:
    """Copy a changed piece's coverage columns into its cells."""
    values = ", ".join(f"{c} = NEW.{c}" for c in COPIED)
    return f"UPDATE piececell SET {values} WHERE piece_id = NEW.id;"


def _sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COPIED)
    return [
        *(
            f"""CREATE TRIGGER {name} AFTER INSERT ON pieceterm
            WHEN NEW.dimension = '{dimension}' BEGIN {_add(dimension)} END"""
            for dimension, name in ADDED.items()
        ),
        f"""CREATE TRIGGER piececell_term_removed AFTER DELETE ON pieceterm
            WHEN OLD.dimension IN {COVERAGE_DIMENSIONS} BEGIN {_remove("OLD")} END""",
        f"""CREATE TRIGGER piececell_term_changed AFTER UPDATE ON pieceterm
            BEGIN {_refill()} END""",
        f"""CREATE TRIGGER piececell_piece_changed AFTER UPDATE OF {", ".join(COPIED)} ON piece
            WHEN {changed} BEGIN {_copy_piece()} END""",
    ]


def _postgresql_triggers() -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in COPIED)
    new = ", ".join(f"NEW.{c}" for c in COPIED)
    return [
        f"""CREATE FUNCTION piececell_term_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' AND NEW.dimension = 'audience' THEN {_add("audience")}
                ELSIF TG_OP = 'INSERT' AND NEW.dimension = 'stage' THEN {_add("stage")}
                ELSIF TG_OP = 'INSERT' THEN {_add("topic")}
                ELSIF TG_OP = 'DELETE' THEN {_remove("OLD")}
                ELSE {_refill()}
                END IF;
                RETURN NULL;
            END $$""",
        f"""CREATE FUNCTION piececell_piece_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {_copy_piece()} RETURN NULL; END $$""",
        *(
            f"""CREATE TRIGGER {name} AFTER INSERT ON pieceterm FOR EACH ROW
            WHEN (NEW.dimension = '{dimension}') EXECUTE FUNCTION piececell_term_sync()"""
            for dimension, name in ADDED.items()
        ),
        f"""CREATE TRIGGER piececell_term_removed AFTER DELETE ON pieceterm FOR EACH ROW
            WHEN (OLD.dimension IN {COVERAGE_DIMENSIONS}) EXECUTE FUNCTION piececell_term_sync()""",
        """CREATE TRIGGER piececell_term_changed AFTER UPDATE ON pieceterm FOR EACH ROW
            EXECUTE FUNCTION piececell_term_sync()""",
        f"""CREATE TRIGGER piececell_piece_changed AFTER UPDATE OF {", ".join(COPIED)} ON piece
            FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
            EXECUTE FUNCTION piececell_piece_sync()""",
    ]


TRIGGERS = {
    "piece": ("piececell_piece_changed",),
    "pieceterm": (*ADDED.values(), "piececell_term_removed", "piececell_term_changed"),
}


def upgrade() -> None:
    op.create_table(
        "piececell",
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("piece_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["piece_id"], ["piece.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("audience", "stage", "topic", "piece_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_piececell_piece_id", "piececell", ["piece_id"], unique=False)
    op.execute(f"INSERT INTO piececell ({COLUMNS}){CELLS}")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql_triggers() if postgresql else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, names in TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER {name} ON {table}" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION piececell_term_sync()")
        op.execute("DROP FUNCTION piececell_piece_sync()")
    op.drop_index("ix_piececell_piece_id", table_name="piececell")
    op.drop_table("piececell")
