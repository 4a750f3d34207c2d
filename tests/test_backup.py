"""Backup and restore: dump -> restore -> dump is the same file, on and across databases."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect
from sqlmodel import Session, SQLModel, select
from storekit import PG_URL, extra_store, fill
from typer.testing import CliRunner

from editorial.backup import BackupError, dump, dump_file, read_lines, restore
from editorial.cli import app
from editorial.db import HEAD, make_engine
from editorial.ingest import ingest
from editorial.models import Piece, User

runner = CliRunner()


@pytest.fixture
def filled(engine: Engine, content_dir: Path, frozen_clock) -> Engine:
    fill(engine, content_dir)
    return engine


def dump_to(engine: Engine, path: Path) -> bytes:
    with dump_file(path) as out:
        dump(engine, out)
    return path.read_bytes()


def restore_into(url: str, path: Path) -> Engine:
    engine = make_engine(url)
    restore(engine, read_lines(path))
    return engine


def test_every_table_has_rows_to_dump(filled: Engine, tmp_path: Path) -> None:
    lines = dump_to(filled, tmp_path / "a.jsonl").decode().splitlines()
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    assert header == {
        "format": "editorial-dump",
        "version": 1,
        "revision": HEAD,
        "tables": [t.name for t in SQLModel.metadata.sorted_tables if t.name != "piececell"],
    }
    assert set(trailer["end"]) == set(header["tables"])
    assert all(trailer["end"].values()), trailer
    assert len(lines) == 2 + sum(trailer["end"].values())


def test_dump_restore_dump_gives_the_same_file(filled: Engine, tmp_path: Path) -> None:
    first = dump_to(filled, tmp_path / "a.jsonl")
    kind = filled.dialect.name
    with extra_store(kind, tmp_path) as url:
        copy = restore_into(url, tmp_path / "a.jsonl")
        assert dump_to(copy, tmp_path / "b.jsonl") == first
        with Session(copy) as session:  # keys keep counting after the restored rows
            session.add(User(name="New", email="new@example.com"))
            session.commit()
            top = session.exec(select(func.max(User.id))).one()
            assert session.exec(select(User).where(User.email == "new@example.com")).one().id == top
        copy.dispose()


def test_a_store_with_empty_tables_round_trips(
    engine: Engine, content_dir: Path, tmp_path: Path
) -> None:
    assert not ingest(engine, content_dir).errors  # pieces, terms, revisions; no people yet
    first = dump_to(engine, tmp_path / "a.jsonl")
    assert 0 in json.loads(first.decode().splitlines()[-1])["end"].values()
    with extra_store(engine.dialect.name, tmp_path) as url:
        copy = restore_into(url, tmp_path / "a.jsonl")
        assert dump_to(copy, tmp_path / "b.jsonl") == first
        copy.dispose()


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set EDITORIAL_TEST_DATABASE_URL")
def test_sqlite_to_postgresql_and_back(tmp_path: Path, content_dir: Path, frozen_clock) -> None:
    with extra_store("sqlite", tmp_path) as lite_url, extra_store("postgresql", tmp_path) as pg_url:
        lite = make_engine(lite_url)
        from editorial.db import upgrade

        upgrade(lite)
        fill(lite, content_dir)
        first = dump_to(lite, tmp_path / "lite.jsonl")
        pg = restore_into(pg_url, tmp_path / "lite.jsonl")
        assert dump_to(pg, tmp_path / "pg.jsonl") == first
        with extra_store("sqlite", tmp_path) as back_url:
            back = restore_into(back_url, tmp_path / "pg.jsonl")
            assert dump_to(back, tmp_path / "back.jsonl") == first
            back.dispose()
        lite.dispose()
        pg.dispose()


def test_restore_refuses_a_store_with_data(filled: Engine, tmp_path: Path) -> None:
    dump_to(filled, tmp_path / "a.jsonl")
    with pytest.raises(BackupError, match="not empty"):
        restore(filled, read_lines(tmp_path / "a.jsonl"))


def test_a_cut_short_dump_restores_nothing(filled: Engine, tmp_path: Path) -> None:
    lines = dump_to(filled, tmp_path / "a.jsonl").decode().splitlines(keepends=True)
    (tmp_path / "cut.jsonl").write_text("".join(lines[:-1]))
    with extra_store(filled.dialect.name, tmp_path) as url:
        target = make_engine(url)
        with pytest.raises(BackupError, match="cut short"):
            restore(target, read_lines(tmp_path / "cut.jsonl"))
        with Session(target) as session:
            assert session.exec(select(func.count()).select_from(Piece)).one() == 0
        target.dispose()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda packed: packed[: len(packed) // 2], "the gzip file is cut short or damaged"),
        (lambda packed: packed[:10] + b"not deflate", "the gzip file is cut short or damaged"),
        (lambda packed: b"\xff\xfe" + packed[2:], "it is not UTF-8 text"),
    ],
    ids=["cut", "damaged", "not-text"],
)
def test_a_damaged_file_is_refused_by_the_command(
    filled: Engine, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage, message
) -> None:
    """Not click's bare "Aborted!" (for an EOFError) or a UnicodeDecodeError traceback."""
    packed = dump_to(filled, tmp_path / "store.jsonl.gz")
    (tmp_path / "bad.jsonl.gz").write_bytes(damage(packed))
    with extra_store(filled.dialect.name, tmp_path) as url:
        monkeypatch.setenv("EDITORIAL_DATABASE_URL", url)
        result = runner.invoke(app, ["restore", str(tmp_path / "bad.jsonl.gz")])
        assert result.exit_code == 1, result.output
        assert f"Restore failed: {tmp_path / 'bad.jsonl.gz'}: " in result.output
        assert message in result.output
        target = make_engine(url)
        if inspect(target).has_table("piece"):
            with Session(target) as session:
                assert session.exec(select(func.count()).select_from(Piece)).one() == 0
        target.dispose()


def twice(lines: list[str]) -> list[str]:
    """The first piece row given twice (and counted twice, so the trailer agrees)."""
    trailer = json.loads(lines[-1])
    trailer["end"]["piece"] += 1
    return [lines[0], lines[1], *lines[1:-1], json.dumps(trailer) + "\n"]


def undated(lines: list[str]) -> list[str]:
    row = json.loads(lines[1])
    row["row"]["created_at"] = "yesterday"
    return [lines[0], json.dumps(row) + "\n", *lines[2:]]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (twice, r"lines 2-\d+: table 'piece' refused one of these rows \(.*\); nothing restored"),
        (undated, "line 2: column 'created_at' holds 'yesterday', not an ISO 8601 date or time"),
    ],
    ids=["key-twice", "bad-date"],
)
def test_a_row_the_store_refuses_names_its_lines(
    filled: Engine, tmp_path: Path, edit, message: str
) -> None:
    """A dump edited by hand, or damaged inside: not a traceback with every row of the batch."""
    lines = dump_to(filled, tmp_path / "a.jsonl").decode().splitlines(keepends=True)
    assert json.loads(lines[1])["table"] == "piece"
    with extra_store(filled.dialect.name, tmp_path) as url:
        target = make_engine(url)
        with pytest.raises(BackupError, match=message):
            restore(target, edit(lines))
        with Session(target) as session:
            assert session.exec(select(func.count()).select_from(Piece)).one() == 0
        target.dispose()


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ("hello\n", "not an Editorial dump"),
        ('{"format": "editorial-dump", "version": 9, "revision": "0001"}\n', "version 9"),
        ('{"format": "editorial-dump", "version": 1, "revision": "9999"}\n', "does not know"),
    ],
)
def test_foreign_files_are_refused(engine: Engine, first_line: str, message: str) -> None:
    with pytest.raises(BackupError, match=message):
        restore(engine, [first_line])


def test_an_older_dump_is_restored_and_upgraded(engine: Engine, tmp_path: Path) -> None:
    at = "2026-05-01T09:30:00+00:00"
    row = {
        **{"id": 7, "slug": "old", "title": "Old", "summary": "", "status": "published"},
        **{"format": None, "author": None, "assignee": None, "publish_at": at, "expire_at": None},
        **{"due_at": None, "review_by": "2026-12-01", "derived_from": None, "word_count": 3},
        **{"reading_minutes": 1, "body": "Old body.", "html": "", "front_matter": {"a": [1]}},
        **{"source_path": "posts/old.md", "source_hash": "h", "source_stat": None},
        **{"missing_since": None, "version": 2, "created_at": at, "updated_at": at},
    }
    lines = [
        {"format": "editorial-dump", "version": 1, "revision": "0001", "tables": ["piece"]},
        {"table": "piece", "row": row},
        {"end": {"piece": 1}},
    ]
    restore(engine, [json.dumps(line) + "\n" for line in lines])
    with Session(engine) as session:
        piece = session.get(Piece, 7)
        assert piece is not None and piece.front_matter == {"a": [1]}
        assert piece.synced_version == 2  # the 0004 data migration ran on the restored row
        assert piece.publish_at is not None and piece.publish_at.isoformat()[:19] == at[:19]


def test_dump_and_restore_commands(
    filled: Engine, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["dump", str(tmp_path / "store.jsonl.gz")])
    assert result.exit_code == 0, result.output
    assert "Dumped" in result.output
    refused = runner.invoke(app, ["restore", str(tmp_path / "store.jsonl.gz")])
    assert refused.exit_code == 1
    assert "not empty" in refused.output
    with extra_store(filled.dialect.name, tmp_path) as url:
        monkeypatch.setenv("EDITORIAL_DATABASE_URL", url)
        restored = runner.invoke(app, ["restore", str(tmp_path / "store.jsonl.gz")])
        assert restored.exit_code == 0, restored.output
        again = runner.invoke(app, ["dump", str(tmp_path / "again.jsonl.gz")])
        assert again.exit_code == 0, again.output
    assert (tmp_path / "again.jsonl.gz").read_bytes() == (tmp_path / "store.jsonl.gz").read_bytes()
    missing = runner.invoke(app, ["restore", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1
    assert "No such file" in missing.output


def test_a_dump_that_cannot_be_written_names_the_file(
    filled: Engine, settings, tmp_path: Path
) -> None:
    """Not the hidden temporary file beside it, which the person never named."""
    missing = tmp_path / "missing" / "store.jsonl"
    result = runner.invoke(app, ["dump", str(missing)])
    assert result.exit_code == 1
    assert f"Dump failed: {missing}: No such file or directory" in result.output
    folder = tmp_path / "backups"
    folder.mkdir()
    result = runner.invoke(app, ["dump", str(folder)])
    assert result.exit_code == 1
    assert f"Dump failed: {folder} is a folder: give the dump a file name" in result.output
    assert list(tmp_path.glob(".*")) == [] and list(folder.iterdir()) == []


def test_a_dump_never_replaces_the_store_itself(
    filled: Engine, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'editorial dump editorial.db' replaced the SQLite store with its own dump."""
    if filled.dialect.name != "sqlite":
        pytest.skip("a PostgreSQL store has no file")
    store = Path(str(filled.url.database))
    monkeypatch.chdir(store.parent)
    for name in (store.name, f"{store.name}-wal", str(store)):
        result = runner.invoke(app, ["dump", name])
        assert result.exit_code == 1, result.output
        assert f"Dump failed: {name} is a file of the store itself" in result.output
    assert store.read_bytes().startswith(b"SQLite format 3")
    with Session(filled) as session:
        assert session.exec(select(func.count()).select_from(Piece)).one() > 0


def test_a_dump_stopped_with_sigterm_leaves_no_temporary_file(
    filled: Engine, settings, tmp_path: Path
) -> None:
    """A job's time limit stops it with SIGTERM: the half-written hidden temporary beside
    FILE was left behind, one more for every stopped run."""
    probe = (
        "import os, signal, sys, runpy\n"
        "import editorial.backup as backup\n"
        "def stopped_half_way(engine, out):\n"
        '    out.write(\'{"format": "editorial-dump"}\\n\')\n'
        "    out.flush()\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return {}\n"
        "backup.dump = stopped_half_way\n"
        "sys.argv = ['editorial', 'dump', sys.argv[1]]\n"
        "runpy.run_module('editorial', run_name='__main__')\n"
    )
    target = tmp_path / "store.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if "store.jsonl" in p.name) == []
