"""Faults: a killed ingest or export is completed by the next run; a full disk or an unwritable
folder fails an export cleanly and leaves the previous export as it was; concurrent writers on
SQLite wait for each other instead of failing."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError
from sqlmodel import Session
from storekit import extra_store
from typer.testing import CliRunner

from editorial import outdir
from editorial.auth import create_user, issue_token
from editorial.cli import app
from editorial.db import make_engine, upgrade
from editorial.ingest import ingest
from editorial.settings import Settings

runner = CliRunner()
AUDIENCES, STAGES, TOPICS = ["cio", "finance", "sales"], ["awareness", "consideration"], ["cloud"]


def write_corpus(content_dir: Path, count: int, edition: str = "") -> None:
    """`count` published pieces (plus the fixture site's) with varied tags and a real body."""
    folder = content_dir / "posts" / "bulk"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = "\n\n".join(
            f"Paragraph {p} of piece {n}: *clouds* and [links](/topic/cloud/)." for p in range(8)
        )
        (folder / f"piece-{n:04d}.md").write_text(
            f"---\ntitle: Bulk piece {n}{edition}\ndate: 2025-01-{n % 28 + 1:02d}T09:00:00\n"
            f"status: published\naudience: {AUDIENCES[n % 3]}\nstage: {STAGES[n % 2]}\n"
            f"topic: cloud\nformat: blog-post\nsummary: Piece {n}.\n---\n\n{body}\n",
            encoding="utf-8",
        )


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "editorial.cli", *args]


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """SIGKILL `process` as soon as `ready()` holds; fail if it finished first."""
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, f"the command finished before {what}; make the corpus larger"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """What ingest produced, without the times it produced it at."""
    queries = {
        "pieces": "SELECT slug, title, status, body, html, source_path, source_hash, version, "
        "word_count, publish_at FROM piece ORDER BY slug",
        "terms": "SELECT p.slug, t.dimension, t.term FROM pieceterm t JOIN piece p "
        "ON p.id = t.piece_id ORDER BY 1, 2, 3",
        "revisions": "SELECT p.slug, r.number, r.origin, r.title, r.body FROM revision r "
        "JOIN piece p ON p.id = r.piece_id ORDER BY 1, 2",
    }
    with engine.connect() as connection:
        return {
            name: [tuple(row) for row in connection.execute(text(sql))]
            for name, sql in queries.items()
        }


def count_pieces(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM piece")).scalar() or 0
    finally:
        engine.dispose()


def test_a_killed_ingest_is_completed_by_the_next_run(
    settings: Settings, engine: Engine, content_dir: Path, database_url: str, tmp_path: Path
) -> None:
    write_corpus(content_dir, 1200)
    process = subprocess.Popen(
        cli("ingest", "--quiet", "--workers", "1"), stdout=subprocess.DEVNULL, env=dict(os.environ)
    )
    kill_when(process, lambda: count_pieces(database_url) > 0, "the first batch was committed")
    partial = count_pieces(database_url)
    rerun = subprocess.run(cli("ingest", "--json"), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    with extra_store(engine.dialect.name, tmp_path) as clean_url:
        clean_engine = make_engine(clean_url)
        upgrade(clean_engine)
        assert not ingest(clean_engine, content_dir).errors
        complete = snapshot(clean_engine)
        clean_engine.dispose()
    assert 0 < partial < len(complete["pieces"]), "the kill did not land half-way"
    assert snapshot(engine) == complete


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def exported(settings: Settings, engine: Engine, content_dir: Path, tmp_path: Path) -> Path:
    """A store of a few hundred published pieces and an export of it in OUT."""
    write_corpus(content_dir, 400)
    assert not ingest(engine, content_dir).errors
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(out)])
    assert result.exit_code == 0, result.output
    write_corpus(content_dir, 400, edition=" (second edition)")  # every page changes
    assert not ingest(engine, content_dir).errors
    return out


def test_a_killed_export_leaves_the_previous_one_and_the_next_run_completes(
    exported: Path, tmp_path: Path
) -> None:
    before = tree(exported)
    staging = exported / outdir.STAGING
    process = subprocess.Popen(
        cli("export", str(exported), "--workers", "1"),
        stdout=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    kill_when(
        process,
        lambda: staging.is_dir() and len(list(staging.rglob("*.html"))) > 50,
        "pages were staged",
    )
    assert {k: v for k, v in tree(exported).items() if not k.startswith(outdir.STAGING)} == before
    rerun = runner.invoke(app, ["export", str(exported)])
    assert rerun.exit_code == 0, rerun.output
    clean = tmp_path / "clean"
    assert runner.invoke(app, ["export", str(clean)]).exit_code == 0
    assert not staging.exists()
    assert tree(exported) == tree(clean)
    assert "second edition" in (exported / "pieces/piece-0001/index.html").read_text()


@pytest.mark.parametrize(
    ("error", "after", "message"),
    [
        (errno.ENOSPC, 25, "No space left on device"),
        (errno.EACCES, 0, "Permission denied"),
        (errno.EROFS, 0, "Read-only file system"),
    ],
)
def test_a_failed_export_fails_clearly_and_leaves_the_previous_one(
    exported: Path, monkeypatch: pytest.MonkeyPatch, error: int, after: int, message: str
) -> None:
    before = tree(exported)
    write = outdir.FileWriter._write
    calls = []

    def failing(path: str, data: bytes, mode: int) -> None:
        calls.append(path)
        if len(calls) > after:
            raise OSError(error, os.strerror(error), path)
        write(path, data, mode)

    monkeypatch.setattr(outdir.FileWriter, "_write", staticmethod(failing))
    result = runner.invoke(app, ["export", str(exported), "--workers", "1"])
    assert result.exit_code == 1
    assert "Export failed:" in result.output and message in result.output
    assert tree(exported) == before
    assert not (exported / outdir.STAGING).exists()
    monkeypatch.setattr(outdir.FileWriter, "_write", staticmethod(write))
    assert runner.invoke(app, ["export", str(exported)]).exit_code == 0
    assert "second edition" in (exported / "pieces/piece-0001/index.html").read_text()


def test_concurrent_writers_on_one_store_never_get_a_server_error(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        editors = [
            create_user(session, f"Ed {n}", f"ed{n}@example.com", "editor", None) for n in range(4)
        ]
        tokens = [issue_token(session, editor) for editor in editors]
        session.commit()

    def work(worker: int) -> list[int]:
        headers = {"Authorization": f"Bearer {tokens[worker % len(tokens)]}"}
        statuses = []
        for n in range(12):
            title = f"Worker {worker} piece {n}"
            made = client.post("/api/workflow/pieces", json={"title": title}, headers=headers)
            statuses.append(made.status_code)
            if made.status_code == 201:
                slug = made.json()["slug"]
                note = {"body": f"note {n}"}
                statuses.append(
                    client.post(
                        f"/api/workflow/pieces/{slug}/notes", json=note, headers=headers
                    ).status_code
                )
            form = {"email": f"nobody{worker}@example.com", "password": "wrong password"}
            statuses.append(client.post("/editor/login", data=form).status_code)
        return statuses

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(work, range(8)) for s in batch]
    assert not [s for s in statuses if s >= 500]
    assert statuses.count(201) == 8 * 12 * 2
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM piece")).scalar() == 8 * 12
        assert connection.execute(text("SELECT count(*) FROM reviewnote")).scalar() == 8 * 12


def test_a_store_locked_for_too_long_answers_503_not_500(
    settings: Settings, engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("lock timeouts are SQLite's; PostgreSQL writers queue on row locks")
    import sqlite3

    import app.main

    def impatient(url: str, **kwargs):  # the 30 s busy timeout, shortened for the test
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 0.2}
        return make_engine(url, **kwargs)

    monkeypatch.setattr(app.main, "make_engine", impatient)
    with Session(engine) as session:
        token = issue_token(session, create_user(session, "Ed", "ed@example.com", "editor", None))
        session.commit()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    with TestClient(app.main.create_app(settings)) as client:
        holder.execute("BEGIN IMMEDIATE")  # another writer keeps the lock
        headers = {"Authorization": f"Bearer {token}"}
        busy = client.post("/api/workflow/pieces", json={"title": "Blocked"}, headers=headers)
        holder.rollback()
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "2"
        assert "Try again" in busy.json()["detail"]
        again = client.post("/api/workflow/pieces", json={"title": "Blocked"}, headers=headers)
        assert again.status_code == 201
    holder.close()


def test_a_value_the_store_refuses_answers_422_not_500(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backstop behind the input checks: PostgreSQL refuses NUL in text, where SQLite keeps it
    (a sign-in with such an address finds no one)."""
    import app.main

    with TestClient(app.main.create_app(settings)) as client:
        form = client.get("/editor/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        data = {"email": "a\x00b@example.com", "password": "secret", "csrf_token": token}
        signed = client.post("/editor/login", data=data)
        assert signed.status_code == (422 if engine.dialect.name == "postgresql" else 401)

        def refused(*_args: object, **_kwargs: object) -> None:
            raise DataError("SELECT", {}, ValueError("cannot contain NUL (0x00) bytes"))

        monkeypatch.setattr("editorial.auth.authenticate", refused)
        page = client.post("/editor/login", data=data)
        assert page.status_code == 422 and "NUL character" in page.text
        monkeypatch.setattr("app.routers.feedback.submit_rating", refused)
        api = client.post("/api/pieces/cloud-basics/ratings", json={"stars": 3})
        assert api.status_code == 422 and "NUL character" in api.json()["detail"]
