"""Back to files: `export markdown` round trips losslessly; a two-sided change keeps both."""

from __future__ import annotations

import errno
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from typer.testing import CliRunner

from editorial import workflow
from editorial.auth import create_user
from editorial.cli import app
from editorial.clock import to_utc
from editorial.db import make_engine, upgrade
from editorial.drafts import draft_from_form, submit_draft
from editorial.ingest import ingest
from editorial.markdown_export import export_markdown
from editorial.models import Piece, Revision, User
from editorial.pieces import terms_of
from editorial.snapshot import front_matter_of
from editorial.taxonomy import load_taxonomy

FIELDS = (
    "slug",
    "title",
    "summary",
    "status",
    "format",
    "author",
    "assignee",
    "publish_at",
    "expire_at",
    "due_at",
    "review_by",
    "derived_from",
    "body",
    "html",
    "word_count",
    "reading_minutes",
)
PG_URL = os.environ.get("EDITORIAL_TEST_DATABASE_URL")


@pytest.fixture
def second_engine(tmp_path: Path) -> Iterator[Engine]:
    """Another empty store, to ingest the exported files into."""
    if not PG_URL:
        engine = make_engine(f"sqlite:///{tmp_path / 'second.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def snapshot(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every piece's fields, terms and canonical front matter, by slug."""
    with Session(engine) as session:
        pieces = session.exec(select(Piece)).all()
        terms = terms_of(session, [p.id for p in pieces if p.id is not None])
        found = {}
        for piece in pieces:
            row = {name: getattr(piece, name) for name in FIELDS}
            for name in ("publish_at", "expire_at", "due_at"):
                row[name] = to_utc(row[name]) if row[name] else None
            row["terms"] = terms.get(piece.id, {})
            row["front_matter"] = front_matter_of(piece, row["terms"])
            found[piece.slug] = row
        return found


def service_pieces(engine: Engine, content_dir: Path) -> None:
    """Pieces made through the service, with every planning field and a draft."""
    taxonomy = load_taxonomy(content_dir / "taxonomy.yaml")
    with Session(engine) as session:
        editor = create_user(session, "Eve", "eve@example.com", "editor", None)
        create_user(session, "Ada", "ada@example.com", "contributor", None)
        fields = {
            "title": "Analytics: a plan for sales",
            "summary": "Numbers, then stories.",
            "audience": ["sales", "cio"],
            "stage": "purchase",
            "topic": "analytics",
            "format": "white-paper",
            "assignee": "ada@example.com",
            "due_at": "2026-06-10T17:30:15.250000+02:00",
            "publish_at": "2026-07-01T09:00",
            "brief": "Two pages; one chart.\nNo jargon: none.",
        }
        piece = workflow.plan_piece(session, editor, fields, "form", taxonomy=taxonomy)
        body = "Intro: *numbers*.\r\n\r\n---\r\n\r\nA rule above, and a 'quote'.\r\n"
        submit_draft(session, editor, piece.slug, draft_from_form(None, None, body), 1, "form")
        workflow.plan_piece(session, editor, {"title": "Idea", "status": "idea"}, "api")
        session.commit()


def test_export_markdown_round_trips_every_field(
    engine: Engine, second_engine: Engine, content_dir: Path, tmp_path: Path
) -> None:
    assert not ingest(engine, content_dir).errors
    service_pieces(engine, content_dir)
    out = tmp_path / "exported"
    report = export_markdown(engine, content_dir, out)
    assert report.written == 8 and (out / "taxonomy.yaml").is_file()
    again = ingest(second_engine, out)
    assert (again.added, again.errors) == (8, [])
    before, after = snapshot(engine), snapshot(second_engine)
    assert sorted(after) == sorted(before)
    for slug, fields in before.items():
        for name, value in fields.items():
            assert after[slug][name] == value, (slug, name)
    planned = before["analytics-a-plan-for-sales"]
    assert planned["front_matter"]["brief"] == "Two pages; one chart.\nNo jargon: none."
    assert planned["terms"]["audience"] == ["cio", "sales"]


def test_export_markdown_command_keeps_the_site_export(
    settings, engine: Engine, content_dir: Path, tmp_path: Path
) -> None:
    ingest(engine, content_dir)
    runner = CliRunner()
    result = runner.invoke(app, ["export", "markdown", str(tmp_path / "md"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"written": 6' in result.stdout
    assert (tmp_path / "md" / "posts" / "cloud-basics.md").is_file()
    site = runner.invoke(app, ["export", str(tmp_path / "site"), "--base-url", "https://x.test/"])
    assert site.exit_code == 0, site.output
    assert (tmp_path / "site" / "index.html").is_file()
    wrong = runner.invoke(app, ["export", "site", str(tmp_path / "other")])
    assert wrong.exit_code == 2


def test_export_markdown_refuses_a_folder_that_ingest_would_read(
    settings, engine: Engine, content_dir: Path
) -> None:
    """Its files would come back as a second copy of every piece, each one an error."""
    ingest(engine, content_dir)
    runner = CliRunner()
    inside = content_dir / "backup"
    refused = runner.invoke(app, ["export", "markdown", str(inside)])
    assert refused.exit_code == 1
    assert f"{inside} is inside the content folder" in refused.output
    assert not inside.exists()
    assert ingest(engine, content_dir).errors == []
    skipped = content_dir / "_backup"
    assert runner.invoke(app, ["export", "markdown", str(skipped)]).exit_code == 0
    assert (skipped / "posts" / "cloud-basics.md").is_file()
    assert ingest(engine, content_dir).errors == []


def test_export_markdown_names_files_it_did_not_write(
    settings, engine: Engine, content_dir: Path, tmp_path: Path
) -> None:
    """A file moved since the last export into the same folder leaves its old copy there, and
    ingesting the folder would then meet every such piece twice."""
    ingest(engine, content_dir)
    runner = CliRunner()
    out = tmp_path / "md"
    assert runner.invoke(app, ["export", "markdown", str(out)]).exit_code == 0
    (content_dir / "moved").mkdir()
    (content_dir / "posts" / "cloud-basics.md").rename(content_dir / "moved" / "cloud-basics.md")
    assert ingest(engine, content_dir).errors == []
    again = runner.invoke(app, ["export", "markdown", str(out), "--json"])
    assert again.exit_code == 1
    assert json.loads(again.stdout)["stale"] == ["posts/cloud-basics.md"]
    assert f"{out / 'posts' / 'cloud-basics.md'}: not written by this export" in again.output
    assert (out / "posts" / "cloud-basics.md").is_file()  # not ours to delete
    (out / "posts" / "cloud-basics.md").unlink()
    clean = runner.invoke(app, ["export", "markdown", str(out), "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout) == {"written": 6}


class _DiskFull:
    """A file being written that takes half of what it is given, then reports a full disk."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.handle.close()

    def write(self, data: Any) -> None:
        self.handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_export_markdown_never_leaves_a_file_cut_short(
    engine: Engine, content_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DIR may be the content folder itself: a full disk halfway through a file left it cut
    short, and it may be a piece's only source."""
    ingest(engine, content_dir)
    out = tmp_path / "md"
    export_markdown(engine, content_dir, out)
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    opened = Path.open

    def disk_full(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = opened(self, mode, *args, **kwargs)
        return _DiskFull(handle) if "w" in mode else handle

    monkeypatch.setattr(Path, "open", disk_full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        export_markdown(engine, content_dir, out)
    monkeypatch.undo()
    assert caught.value.filename == str(out / "taxonomy.yaml")  # not the hidden file beside it
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_a_file_and_service_change_conflict_keeps_both(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    with Session(engine) as session:
        editor = create_user(session, "Eve", "eve@example.com", "editor", None)
        piece = workflow.load(session, editor, "cloud-basics")
        version = piece.version
        workflow.update_piece(session, editor, "cloud-basics", {"title": "Service"}, version, "api")
        session.commit()
    path = content_dir / "posts" / "cloud-basics.md"
    path.write_text(path.read_text().replace("Cloud programmes start", "Files start"))
    report = ingest(engine, content_dir)
    assert [c["path"] for c in report.conflicts] == ["posts/cloud-basics.md"]
    assert "conflicts" in report.as_json() and report.updated == 0
    with Session(engine) as session:
        piece = session.exec(select(Piece).where(Piece.slug == "cloud-basics")).one()
        assert piece.title == "Service" and "Files start" not in piece.body
        revisions = session.exec(
            select(Revision).where(Revision.piece_id == piece.id).order_by(Revision.number)
        ).all()
        last = revisions[-1]
        assert (last.number, last.conflict, last.origin) == (piece.version, True, "file")
        assert "Files start" in last.body and revisions[-2].title == "Service"
    assert ingest(engine, content_dir).conflicts == []  # reported once
    path.write_text(path.read_text().replace("Files start", "Merged start"))
    merged = ingest(engine, content_dir)
    assert (merged.updated, merged.conflicts) == (1, [])


def test_an_unchanged_file_never_overwrites_a_service_change(
    engine: Engine, content_dir: Path
) -> None:
    ingest(engine, content_dir)
    with Session(engine) as session:
        editor = create_user(session, "Eve", "eve@example.com", "editor", None)
        version = workflow.load(session, editor, "cloud-basics").version
        workflow.update_piece(session, editor, "cloud-basics", {"title": "Service"}, version, "api")
        session.commit()
    taxonomy = content_dir / "taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text() + "\n# touched\n")  # forces every file to be re-read
    report = ingest(engine, content_dir)
    assert report.conflicts == []
    with Session(engine) as session:
        piece = session.exec(select(Piece).where(Piece.slug == "cloud-basics")).one()
        assert piece.title == "Service"


def edit_through_the_service(engine: Engine, slug: str, body: str) -> int:
    """Save a draft of `slug` as an editor would; returns the piece's new version."""
    with Session(engine) as session:
        editor = session.exec(select(User).where(User.email == "eve@example.com")).first()
        editor = editor or create_user(session, "Eve", "eve@example.com", "editor", None)
        version = workflow.load(session, editor, slug).version
        draft = draft_from_form(None, None, body)
        version = submit_draft(session, editor, slug, draft, version, "form").version
        session.commit()
        return version


def stored(engine: Engine, slug: str) -> Piece:
    with Session(engine) as session:
        piece = session.exec(select(Piece).where(Piece.slug == slug)).one()
        session.expunge(piece)
        return piece


def test_a_file_back_unchanged_after_going_missing_keeps_a_service_change(
    engine: Engine, content_dir: Path, tmp_path: Path
) -> None:
    path = content_dir / "posts" / "cloud-basics.md"
    ingest(engine, content_dir)
    assert edit_through_the_service(engine, "cloud-basics", "Written in the service.\n") == 2
    aside = path.rename(tmp_path / "aside.md")
    assert ingest(engine, content_dir).removed == 1
    assert stored(engine, "cloud-basics").status == "archived"
    aside.rename(path)  # the same bytes as when the file was last read
    back = ingest(engine, content_dir)
    assert (back.updated, back.conflicts, back.errors) == (1, [], [])
    piece = stored(engine, "cloud-basics")
    assert (piece.body, piece.status, piece.missing_since) == (
        "Written in the service.\n",
        "published",
        None,
    )
    with Session(engine) as session:
        history = session.exec(
            select(Revision).where(Revision.piece_id == piece.id).order_by(Revision.number)
        ).all()
    assert [(r.number, r.origin, r.conflict) for r in history] == [
        (1, "file", False),
        (2, "form", False),
        (3, "file", False),  # archived: the file was missing
        (4, "file", False),  # back: the service's change kept
    ]
    assert history[-1].body == "Written in the service.\n"
    again = ingest(engine, content_dir)
    assert (again.unchanged, again.updated, again.conflicts) == (6, 0, [])
    assert stored(engine, "cloud-basics").body == "Written in the service.\n"
    path.write_text(path.read_text().replace("Cloud programmes start", "Files start"))
    assert [c["path"] for c in ingest(engine, content_dir).conflicts] == [
        "posts/cloud-basics.md"
    ]  # an edit of the file after the service's is still a conflict, not an overwrite


def test_an_unchanged_file_moved_after_a_service_change_takes_its_piece_along(
    engine: Engine, content_dir: Path
) -> None:
    path = content_dir / "posts" / "cloud-basics.md"
    ingest(engine, content_dir)
    edit_through_the_service(engine, "cloud-basics", "Written in the service.\n")
    moved = content_dir / "posts" / "sub" / "cloud-basics.md"
    moved.parent.mkdir()
    path.rename(moved)
    report = ingest(engine, content_dir)
    assert (report.updated, report.unchanged, report.removed, report.conflicts) == (1, 5, 0, [])
    piece = stored(engine, "cloud-basics")
    assert (piece.source_path, piece.status, piece.missing_since) == (
        "posts/sub/cloud-basics.md",
        "published",
        None,
    )
    assert piece.body == "Written in the service.\n"
    with Session(engine) as session:
        last = session.exec(
            select(Revision).where(Revision.piece_id == piece.id).order_by(Revision.number.desc())
        ).first()
    assert last is not None and (last.number, last.body) == (3, "Written in the service.\n")
    assert last.note == (
        "source file posts/sub/cloud-basics.md moved from posts/cloud-basics.md unchanged; "
        "the service's changes are kept"
    )
    again = ingest(engine, content_dir)
    assert (again.unchanged, again.updated, again.removed) == (6, 0, 0)
    assert stored(engine, "cloud-basics").body == "Written in the service.\n"
