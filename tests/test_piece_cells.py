"""`piececell`, the coverage report's derived table: the triggers keep it equal to what `piece`
and `pieceterm` say after every kind of write, a migration builds it from the rows already there,
and a dump leaves it out while a restore rebuilds it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, bindparam, delete, insert, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from storekit import extra_store, fill

from editorial import ingest_store
from editorial.backup import dump, read_lines, restore
from editorial.coverage import Window, counts_query, coverage
from editorial.db import alembic_config, make_engine, upgrade
from editorial.ingest import ingest
from editorial.models import Piece, PieceCell, PieceTerm, Status
from editorial.taxonomy import load_taxonomy
from tests.test_coverage import TAXONOMY, Spec, as_rows, store

DAY = timedelta(days=1)
COPIED = ("status", "publish_at", "due_at", "expire_at", "review_by", "created_at", "missing_since")


def recomputed(session: Session) -> set[tuple]:
    """The rows piececell should hold, worked out in Python from pieces and terms."""
    terms: dict[int, dict[str, list[str]]] = {}
    for term in session.exec(select(PieceTerm)):
        terms.setdefault(term.piece_id, {}).setdefault(term.dimension, []).append(term.term)
    rows = set()
    for piece in session.exec(select(Piece)):
        tags = terms.get(piece.id or 0, {})
        copied = tuple(getattr(piece, name) for name in COPIED)
        for audience in tags.get("audience", []):
            for stage in tags.get("stage", []):
                for topic in tags.get("topic", []):
                    rows.add((audience, stage, topic, piece.id, *copied))
    return rows


def stored(session: Session) -> set[tuple]:
    session.expire_all()
    return {
        (c.audience, c.stage, c.topic, c.piece_id, *(getattr(c, name) for name in COPIED))
        for c in session.exec(select(PieceCell))
    }


def corpus(now: datetime) -> list[Spec]:
    both = {"audience": ["cio", "finance"], "stage": ["awareness", "purchase"], "topic": ["cloud"]}
    return [
        Spec("wide", publish_at=now - 10 * DAY, terms=both | {"format": ["blog-post"]}),
        Spec(
            "planned",
            status=Status.PLANNED,
            due_at=now + 7 * DAY,
            terms={"audience": ["cio"], "stage": ["purchase"], "topic": ["cloud", "events"]},
        ),
        Spec("untagged-stage", terms={"audience": ["cio"], "topic": ["cloud"]}),
    ]


def ids(session: Session) -> dict[str, int]:
    return {p.slug: p.id for p in session.exec(select(Piece)) if p.id is not None}


def test_every_kind_of_write_keeps_the_cells_in_step(
    session: Session, frozen_clock: datetime
) -> None:
    store(session, corpus(frozen_clock))
    assert len(stored(session)) == 4 + 2
    assert stored(session) == recomputed(session)
    piece = ids(session)
    steps = [
        update(Piece).where(col(Piece.slug) == "wide").values(status=Status.ARCHIVED),
        update(Piece)
        .where(col(Piece.slug) == "planned")
        .values(publish_at=frozen_clock + DAY, review_by=frozen_clock.date(), title="Renamed"),
        update(Piece).values(missing_since=frozen_clock, expire_at=frozen_clock + DAY),
        delete(PieceTerm).where(
            col(PieceTerm.piece_id) == piece["wide"], col(PieceTerm.term) == "finance"
        ),
        update(PieceTerm)
        .where(col(PieceTerm.piece_id) == piece["planned"], col(PieceTerm.term) == "events")
        .values(term="security"),
        update(PieceTerm)
        .where(col(PieceTerm.piece_id) == piece["wide"], col(PieceTerm.dimension) == "format")
        .values(dimension="stage", term="interest"),
        delete(PieceTerm).where(col(PieceTerm.dimension) == "audience", col(PieceTerm.term) == "x"),
    ]
    for statement in steps:
        session.exec(statement)  # type: ignore[call-overload]
        session.commit()
        assert stored(session) == recomputed(session), statement
    session.add(PieceTerm(piece_id=piece["untagged-stage"], dimension="stage", term="awareness"))
    session.commit()
    # one statement with many rows: PostgreSQL runs the row triggers only once it is done
    session.add(Piece(slug="bulk", title="Bulk", status=Status.PUBLISHED))
    session.commit()
    bulk = ids(session)["bulk"]
    rows = [("audience", "cio"), ("audience", "finance"), ("stage", "purchase"), ("topic", "cloud")]
    together = insert(PieceTerm).values([dict(piece_id=bulk, dimension=d, term=t) for d, t in rows])
    session.exec(together)  # type: ignore[call-overload]
    session.commit()
    assert stored(session) == recomputed(session)
    cells = {row[:4] for row in stored(session)}
    assert ("cio", "awareness", "cloud", piece["untagged-stage"]) in cells
    session.delete(session.get(Piece, piece["wide"]))
    session.commit()
    assert stored(session) == recomputed(session)
    assert piece["wide"] not in {row[3] for row in stored(session)}


def test_orm_edits_of_a_loaded_piece_reach_its_cells(
    session: Session, frozen_clock: datetime
) -> None:
    store(session, corpus(frozen_clock))
    planned = session.exec(select(Piece).where(col(Piece.slug) == "planned")).one()
    before = coverage(session, TAXONOMY)
    planned.status, planned.publish_at = Status.PUBLISHED, frozen_clock - DAY
    session.add(planned)
    session.commit()
    assert stored(session) == recomputed(session)
    after = {(c.audience, c.stage, c.topic): c for c in coverage(session, TAXONOMY)}
    was = {(c.audience, c.stage, c.topic): c for c in before}
    cell = ("cio", "purchase", "cloud")
    assert (was[cell].planned, was[cell].fresh) == (1, 1)
    assert (after[cell].planned, after[cell].fresh) == (0, 2)


def test_ingest_makes_the_cells_its_way_and_leaves_the_triggers_in_place(
    engine: Engine, session: Session, content_dir: Path
) -> None:
    """Ingest may make its pieces' cells in one statement (on SQLite it does): the same cells,
    for new pieces as for pieces whose terms changed, and the triggers are there afterwards
    for every other writer."""
    assert not ingest(engine, content_dir).errors
    first = stored(session)
    assert first == recomputed(session) != set()
    path = content_dir / "posts" / "cloud-basics.md"
    path.write_text(path.read_text().replace("stage: awareness", "stage: [awareness, purchase]"))
    assert ingest(engine, content_dir).updated == 1
    assert stored(session) == recomputed(session)
    assert len(stored(session)) == len(first) + 1
    piece = ids(session)["cloud-basics"]
    session.add(PieceTerm(piece_id=piece, dimension="topic", term="security"))
    session.commit()
    assert stored(session) == recomputed(session)
    assert len(stored(session)) == len(first) + 3


def test_a_failed_ingest_batch_leaves_the_triggers_in_place(
    engine: Engine, session: Session, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triggers are set aside inside the batch's transaction: a batch that fails while
    they are away leaves the store as it was, triggers included."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps its triggers in place during ingest")
    failing = text("SELECT * FROM no_such_table WHERE 1 IN :ids")
    failing = failing.bindparams(bindparam("ids", expanding=True))
    monkeypatch.setattr(ingest_store, "_cells_of_pieces", lambda: failing)
    with pytest.raises(OperationalError):
        ingest(engine, content_dir)
    assert session.exec(select(Piece)).all() == []
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ).scalars()
        assert set(ingest_store.CELL_TRIGGERS) <= set(names)
    monkeypatch.undo()
    assert not ingest(engine, content_dir).errors
    assert stored(session) == recomputed(session) != set()


def test_the_migration_builds_cells_from_the_rows_already_there(
    database_url: str, frozen_clock: datetime
) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            store(session, corpus(frozen_clock))
            expected = recomputed(session)
        command.downgrade(alembic_config(engine), "0005")
        upgrade(engine)
        with Session(engine) as session:
            assert stored(session) == expected
    finally:
        engine.dispose()


def test_a_dump_leaves_the_cells_out_and_a_restore_rebuilds_them(
    engine: Engine, content_dir: Path, tmp_path: Path, frozen_clock: datetime
) -> None:
    fill(engine, content_dir)  # a row in every dumped table: the fixture site and more
    taxonomy = load_taxonomy(content_dir / "taxonomy.yaml")
    with Session(engine) as session:
        report = as_rows(coverage(session, taxonomy))
    path = tmp_path / "store.jsonl"
    with path.open("w", encoding="utf-8") as out:
        counts = dump(engine, out)
    assert "piececell" not in counts
    with extra_store(engine.dialect.name, tmp_path) as url:
        copy = make_engine(url)
        try:
            restore(copy, read_lines(path))
            with Session(copy) as session:
                assert stored(session) == recomputed(session) != set()
                assert as_rows(coverage(session, taxonomy)) == report
        finally:
            copy.dispose()


def test_sqlite_groups_the_cells_in_key_order_without_sorting(
    engine: Engine, frozen_clock: datetime
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL aggregates by hash")
    query = counts_query(Window.of(TAXONOMY), topic="cloud")
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan == ["SCAN piececell"]
