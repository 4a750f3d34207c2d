"""Ingest: what each run adds, updates, keeps and archives; bad files reported with their path;
a run that dies part-way leaves whole batches only; parallel parsing equals serial."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, select
from storekit import count_pools
from typer.testing import CliRunner

import editorial.ingest as ingest_module
from editorial import clock
from editorial.cli import app
from editorial.ingest import ingest
from editorial.ingest_store import StoreWriter
from editorial.models import Piece, PieceTerm, Revision, StoreState
from editorial.settings import Settings
from editorial.taxonomy import TaxonomyError

FIXTURE_SLUGS = {
    "analytics-plan",
    "cloud-basics",
    "cloud-basics-finance",
    "expired",
    "future",
    "hugo-style",
}
DATE_HINT = "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
runner = CliRunner()


def summary(
    added: int = 0, updated: int = 0, unchanged: int = 0, removed: int = 0, errors: Any = ()
) -> dict[str, Any]:
    """The `--json` summary a run should produce."""
    return {
        "added": added,
        "updated": updated,
        "unchanged": unchanged,
        "removed": removed,
        "errors": list(errors),
    }


def write(content_dir: Path, rel: str, text: str | bytes) -> Path:
    path = content_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def utc(value: datetime | None) -> datetime:
    """A stored time as aware UTC (SQLite gives it back without a zone)."""
    assert value is not None
    return clock.to_utc(value)


def piece(engine: Engine, slug: str) -> Piece:
    with Session(engine) as session:
        found = session.exec(select(Piece).where(Piece.slug == slug)).one()
        session.expunge(found)
        return found


def revisions(engine: Engine, piece_id: int | None) -> list[Revision]:
    with Session(engine) as session:
        statement = select(Revision).where(Revision.piece_id == piece_id)
        return list(session.exec(statement.order_by(Revision.number)).all())


def terms(engine: Engine, slug: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        statement = (
            select(PieceTerm.dimension, PieceTerm.term).join(Piece).where(Piece.slug == slug)
        )
        return sorted(session.exec(statement).all())


def snapshot(engine: Engine) -> dict[str, dict[str, Any]]:
    """Everything ingest stored, by slug, without the ids and times that differ between runs
    (`source_stat` too: it is None for a file written less than RACY_NS before the run)."""
    with Session(engine) as session:
        pieces = session.exec(select(Piece)).all()
        all_terms = session.exec(select(PieceTerm)).all()
        all_revisions = session.exec(select(Revision).order_by(Revision.number)).all()
        result = {}
        for stored in pieces:
            row = stored.model_dump(exclude={"id", "created_at", "updated_at", "source_stat"})
            row["terms"] = sorted(
                (t.dimension, t.term) for t in all_terms if t.piece_id == stored.id
            )
            row["revisions"] = [
                r.model_dump(exclude={"id", "piece_id", "created_at"})
                for r in all_revisions
                if r.piece_id == stored.id
            ]
            result[stored.slug] = row
    return result


def empty_the_store(engine: Engine) -> None:
    with engine.begin() as connection:
        for model in (PieceTerm, Revision, Piece, StoreState):
            connection.execute(delete(model.__table__))  # type: ignore[attr-defined]


# --- a first run --------------------------------------------------------------------------------


def test_first_run_adds_every_valid_file(engine: Engine, content_dir: Path) -> None:
    report = ingest(engine, content_dir)
    assert report.as_json() == summary(added=6)
    stored = snapshot(engine)
    assert set(stored) == FIXTURE_SLUGS  # posts/_ignored.md is skipped
    for slug, row in stored.items():
        assert row["version"] == 1
        assert row["source_path"] == f"posts/{slug}.md"
        assert [r["number"] for r in row["revisions"]] == [1]
        assert row["revisions"][0]["note"] == f"posts/{slug}.md"
        assert row["revisions"][0]["origin"] == "file"
        assert row["revisions"][0]["body"] == row["body"]
    assert stored["analytics-plan"]["terms"] == [
        ("audience", "sales"),
        ("format", "white-paper"),
        ("stage", "consideration"),
        ("topic", "analytics"),
    ]


def test_hugo_fields_are_stored(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    hugo = piece(engine, "hugo-style")
    assert hugo.status == "draft"
    assert utc(hugo.publish_at) == datetime(2025, 5, 1, tzinfo=UTC)
    assert hugo.format == "white-paper"
    assert terms(engine, "hugo-style") == [
        ("format", "white-paper"),
        ("tag", "roadmap"),
        ("topic", "analytics"),
    ]
    expired = piece(engine, "expired")
    assert utc(expired.expire_at) == datetime(2024, 2, 1, tzinfo=UTC)


def test_dates_are_stored_as_utc(engine: Engine, content_dir: Path) -> None:
    write(
        content_dir,
        "posts/zoned.md",
        "---\ntitle: Zoned\npublishDate: 2025-05-01T10:00:00+02:00\n"
        "expiryDate: 2025-06-01T00:30:00-03:00\ndue: 2025-04-01 23:30:00\n---\n",
    )
    ingest(engine, content_dir)
    zoned = piece(engine, "zoned")
    assert [utc(zoned.publish_at), utc(zoned.expire_at), utc(zoned.due_at)] == [
        datetime(2025, 5, 1, 8, 0, tzinfo=UTC),
        datetime(2025, 6, 1, 3, 30, tzinfo=UTC),
        datetime(2025, 4, 1, 23, 30, tzinfo=UTC),
    ]
    future = piece(engine, "future")  # TOML front matter, `Z` time
    assert utc(future.publish_at) == datetime(2099, 1, 1, 9, 0, tzinfo=UTC)


def test_markdown_is_rendered_safely_with_word_count(engine: Engine, content_dir: Path) -> None:
    write(
        content_dir,
        "posts/rich.md",
        "---\ntitle: Rich\n---\n\n## Why now\n\n| A | B |\n| --- | --- |\n| 1 | 2 |\n\n"
        "~~gone~~ kept[^n]\n\n[^n]: Note.\n\n<script>alert(1)</script>\n\n"
        "[bad](javascript:alert(2))\n",
    )
    write(content_dir, "posts/long.md", "---\ntitle: Long\n---\n" + "word " * 460)
    ingest(engine, content_dir)
    rich = piece(engine, "rich")
    assert '<h2 id="why-now">Why now</h2>' in rich.html
    assert "<table>" in rich.html and "<td>1</td>" in rich.html
    assert "<s>gone</s>" in rich.html
    assert 'class="footnote-ref"' in rich.html and 'id="fn1"' in rich.html
    assert "<script" not in rich.html and "alert(1)" not in rich.html
    assert 'href="javascript' not in rich.html
    long = piece(engine, "long")
    assert (long.word_count, long.reading_minutes) == (460, 2)
    assert "<p>" + " ".join(["word"] * 460) + "</p>" in long.html


# --- bad files --------------------------------------------------------------------------------

BAD_FILES: dict[str, str | bytes] = {
    "posts/bad/bad-date.md": "---\ntitle: T\ndate: 2025-13-45\npublishDate: soon\n---\n",
    "posts/bad/bom.md": "\ufeff---\ntitle: With a BOM\n---\nFine.\n",
    "posts/bad/dup-a.md": "---\ntitle: A\nslug: twin\n---\n",
    "posts/bad/dup-b.md": "---\ntitle: B\nslug: twin\n---\n",
    "posts/bad/empty.md": b"",
    "posts/bad/latin1.md": "---\ntitle: T\nsummary: café\n---\n".encode("latin-1"),
    "posts/bad/malformed.md": "---\ntitle: T\naudience: [cio\nstage: awareness\n---\n",
    "posts/bad/no-front-matter.md": "# Title\n\nText.\n",
    "posts/bad/no-title.md": "---\nsummary: S\n---\n",
    "posts/bad/toml-bad.md": '+++\ntitle = "T"\ndate = = 2025\n+++\n',
    "posts/bad/toml-good.md": '+++\ntitle = "TOML"\naudience = "cio"\n+++\n',
    "posts/bad/unknown-term.md": "---\ntitle: T\naudience: [cio, fnance]\n---\n",
    "posts/bad/wrong-types.md": "---\ntitle: [a, b]\nstatus: finished\n---\n",
}

BAD_FILE_ERRORS = [
    ("bad-date.md", f"line 4, field 'publishDate': bad date 'soon'; {DATE_HINT}"),
    ("bad-date.md", f"line 3, field 'date': bad date '2025-13-45'; {DATE_HINT}"),
    (
        "dup-b.md",
        "field 'slug': duplicate slug 'twin': also used by 'posts/bad/dup-a.md'; "
        "give one of them another 'slug:'",
    ),
    ("empty.md", "the file is empty; a piece needs front matter with a title"),
    ("latin1.md", "line 3: not UTF-8 text (byte 25); save the file as UTF-8"),
    ("malformed.md", "line 4: malformed YAML front matter: did not find expected ',' or ']'"),
    (
        "no-front-matter.md",
        "line 1: no front matter; start the file with a '---' line, then 'title: …', then '---'",
    ),
    (
        "no-title.md",
        "field 'title': 'title' is required; add a line 'title: …' to the front matter",
    ),
    ("toml-bad.md", "line 3: malformed TOML front matter: Invalid value"),
    (
        "unknown-term.md",
        "line 3, field 'audience': unknown audience 'fnance'; did you mean 'finance'? "
        "(declare new terms in taxonomy.yaml)",
    ),
    ("wrong-types.md", "line 2, field 'title': expected text, got a list"),
    (
        "wrong-types.md",
        "line 3, field 'status': unknown status 'finished'; use one of idea, planned, draft, "
        "review, approved, scheduled, published, archived",
    ),
]


def expected_bad_errors() -> list[dict[str, str]]:
    return [{"path": f"posts/bad/{name}", "message": m} for name, m in BAD_FILE_ERRORS]


def test_every_bad_file_is_reported_and_the_rest_stored(engine: Engine, content_dir: Path) -> None:
    for rel, text in BAD_FILES.items():
        write(content_dir, rel, text)
    report = ingest(engine, content_dir)
    assert report.as_json() == summary(added=9, errors=expected_bad_errors())
    stored = snapshot(engine)
    assert set(stored) == FIXTURE_SLUGS | {"bom", "twin", "toml-good"}
    assert stored["twin"]["source_path"] == "posts/bad/dup-a.md"
    assert (stored["bom"]["title"], stored["bom"]["body"]) == ("With a BOM", "Fine.\n")
    assert stored["toml-good"]["terms"] == [("audience", "cio")]
    again = ingest(engine, content_dir)  # bad files stay bad: reported again, never skipped
    assert again.as_json() == summary(unchanged=9, errors=expected_bad_errors())


def test_a_new_file_cannot_take_a_stored_slug(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    write(content_dir, "posts/a-copy.md", "---\ntitle: Copy\nslug: cloud-basics\n---\n")
    report = ingest(engine, content_dir)
    assert report.errors == [
        {
            "path": "posts/a-copy.md",
            "message": "field 'slug': duplicate slug 'cloud-basics': also used by "
            "'posts/cloud-basics.md'; give one of them another 'slug:'",
        }
    ]
    assert piece(engine, "cloud-basics").source_path == "posts/cloud-basics.md"


def test_a_path_that_is_not_utf8_is_reported_and_the_rest_stored(
    settings: Settings, engine: Engine, content_dir: Path
) -> None:
    for raw in (b"posts/bad\xff.md", b"odd\xfe/inside.md"):
        write(content_dir, os.fsdecode(raw), "---\ntitle: Fine text, odd name\n---\n")
    message = "the path is not UTF-8 text (each \\x.. is a byte that is not); rename it"
    errors = [
        {"path": "odd\\xfe/inside.md", "message": message},
        {"path": "posts/bad\\xff.md", "message": message},
    ]
    result = runner.invoke(app, ["ingest", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == summary(added=6, errors=errors)
    assert set(snapshot(engine)) == FIXTURE_SLUGS
    text = runner.invoke(app, ["ingest"])
    assert "added 0, updated 0, unchanged 6, removed 0, errors 2" in text.stdout
    assert f"posts/bad\\xff.md: {message}" in text.stderr


def slugged(slug: str, title: str = "Piece") -> str:
    return f"---\ntitle: {title}\nslug: {slug}\n---\nBody\n"


def duplicate(rel: str, slug: str, other: str) -> dict[str, str]:
    message = f"field 'slug': duplicate slug '{slug}': also used by '{other}'; "
    return {"path": rel, "message": message + "give one of them another 'slug:'"}


def test_two_files_may_swap_slugs(engine: Engine, content_dir: Path) -> None:
    write(content_dir, "a.md", slugged("x", "A"))
    write(content_dir, "b.md", slugged("y", "B"))
    ingest(engine, content_dir)
    ids = {piece(engine, "x").id: "A", piece(engine, "y").id: "B"}
    write(content_dir, "a.md", slugged("y", "A"))
    write(content_dir, "b.md", slugged("x", "B"))
    assert ingest(engine, content_dir).as_json() == summary(updated=2, unchanged=6)
    after = {slug: piece(engine, slug) for slug in ("x", "y")}
    assert (after["y"].source_path, after["x"].source_path) == ("a.md", "b.md")
    assert {p.id: p.title for p in after.values()} == ids  # each piece follows its file
    assert ingest(engine, content_dir).as_json() == summary(unchanged=8)


def test_a_slug_handed_over_in_one_run_is_taken(engine: Engine, content_dir: Path) -> None:
    write(content_dir, "b.md", slugged("x", "B"))
    ingest(engine, content_dir)
    write(content_dir, "b.md", slugged("z", "B"))
    write(content_dir, "a.md", slugged("x", "A"))  # read before b.md
    assert ingest(engine, content_dir).as_json() == summary(added=1, updated=1, unchanged=6)
    assert (piece(engine, "x").source_path, piece(engine, "z").source_path) == ("a.md", "b.md")


def test_a_file_keeps_its_slug_against_a_newcomer(engine: Engine, content_dir: Path) -> None:
    write(content_dir, "z.md", slugged("x", "Z"))
    ingest(engine, content_dir)
    write(content_dir, "z.md", slugged("x", "Z, edited"))
    write(content_dir, "a.md", slugged("x", "A"))
    report = ingest(engine, content_dir)
    assert report.as_json() == summary(
        updated=1, unchanged=6, errors=[duplicate("a.md", "x", "z.md")]
    )
    assert (piece(engine, "x").source_path, piece(engine, "x").title) == ("z.md", "Z, edited")


def test_a_slug_is_not_free_while_its_file_cannot_move_off_it(
    engine: Engine, content_dir: Path
) -> None:
    write(content_dir, "a.md", slugged("x", "A"))
    write(content_dir, "b.md", slugged("y", "B"))
    write(content_dir, "c.md", slugged("w", "C"))
    ingest(engine, content_dir)
    write(content_dir, "a.md", slugged("y", "A"))  # waits for b.md to give y up
    write(content_dir, "b.md", slugged("w", "B"))  # which it cannot: c.md keeps w
    errors = [duplicate("b.md", "w", "c.md"), duplicate("a.md", "y", "b.md")]  # a.md waited
    assert ingest(engine, content_dir).as_json() == summary(unchanged=7, errors=errors)
    assert [piece(engine, s).source_path for s in ("x", "y", "w")] == ["a.md", "b.md", "c.md"]


# --- later runs -------------------------------------------------------------------------------


def test_a_second_run_changes_nothing(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    before = snapshot(engine)
    assert ingest(engine, content_dir).as_json() == summary(unchanged=6)
    assert snapshot(engine) == before
    write(content_dir, "posts/fresh.md", "---\ntitle: Fresh\n---\n")
    assert ingest(engine, content_dir).as_json() == summary(added=1, unchanged=6)
    assert ingest(engine, content_dir).as_json() == summary(unchanged=7)


def test_a_changed_file_makes_one_new_revision(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    before = piece(engine, "cloud-basics")
    path = content_dir / "posts" / "cloud-basics.md"
    path.write_text(path.read_text().replace("clear reason", "clearer reason"))
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=5)
    after = piece(engine, "cloud-basics")
    assert (after.id, after.version) == (before.id, before.version + 1)
    assert "clearer reason" in after.body and "clearer reason" in after.html
    history = revisions(engine, after.id)
    assert [r.number for r in history] == [1, 2]
    assert "clear reason" in history[0].body and "clearer reason" in history[1].body
    assert history[1].source_hash == after.source_hash != before.source_hash


def test_a_removed_file_archives_its_piece(
    engine: Engine, content_dir: Path, frozen_clock: datetime
) -> None:
    ingest(engine, content_dir)
    before = piece(engine, "cloud-basics")
    (content_dir / "posts" / "cloud-basics.md").unlink()
    assert ingest(engine, content_dir).as_json() == summary(unchanged=5, removed=1)
    after = piece(engine, "cloud-basics")
    assert after.id == before.id
    assert (after.status, after.version, after.body) == ("archived", 2, before.body)
    assert utc(after.missing_since) == frozen_clock
    assert terms(engine, "cloud-basics") == [
        ("audience", "cio"),
        ("format", "blog-post"),
        ("stage", "awareness"),
        ("topic", "cloud"),
    ]
    history = revisions(engine, after.id)
    assert [(r.number, r.note) for r in history] == [
        (1, "posts/cloud-basics.md"),
        (2, "source file posts/cloud-basics.md is missing; piece archived"),
    ]
    assert history[1].body == before.body
    assert ingest(engine, content_dir).as_json() == summary(unchanged=5)  # archived once only
    assert piece(engine, "cloud-basics").version == 2


def test_a_file_coming_back_restores_its_piece(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    path = content_dir / "posts" / "cloud-basics.md"
    text = path.read_bytes()
    path.unlink()
    ingest(engine, content_dir)
    path.write_bytes(text)
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=5)
    back = piece(engine, "cloud-basics")
    assert (back.status, back.missing_since, back.version) == ("published", None, 3)
    assert [r.number for r in revisions(engine, back.id)] == [1, 2, 3]
    assert ingest(engine, content_dir).as_json() == summary(unchanged=6)


@pytest.mark.parametrize(
    ("new_path", "text"),
    [
        ("2025/cloud-basics.md", None),  # moved: the slug comes from the same file name
        ("posts/cloud.md", "---\ntitle: Cloud basics, renamed\nslug: cloud-basics\n---\nBody\n"),
    ],
    ids=["moved", "renamed"],
)
def test_a_renamed_file_keeps_its_piece(
    engine: Engine, content_dir: Path, new_path: str, text: str | None
) -> None:
    ingest(engine, content_dir)
    before = piece(engine, "cloud-basics")
    old = content_dir / "posts" / "cloud-basics.md"
    write(content_dir, new_path, text if text is not None else old.read_bytes())
    old.unlink()
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=5)
    after = piece(engine, "cloud-basics")
    assert (after.id, after.source_path, after.version) == (before.id, new_path, 2)
    assert (after.status, after.missing_since) == ("published", None)
    assert [r.note for r in revisions(engine, after.id)] == ["posts/cloud-basics.md", new_path]


def test_an_unreadable_folder_is_reported_and_its_pieces_kept(
    engine: Engine, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(content_dir, "posts/nodir/x.md", "---\ntitle: Behind a locked door\n---\n")
    ingest(engine, content_dir)
    before = snapshot(engine)
    locked = str(content_dir / "posts" / "nodir")
    scandir = os.scandir

    def refuses_the_locked_folder(path: Any = ".") -> Any:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuses_the_locked_folder)
    error = {
        "path": "posts/nodir",
        "message": "cannot read the folder (Permission denied); its pieces are kept as they were",
    }
    assert ingest(engine, content_dir).as_json() == summary(unchanged=6, errors=[error])
    assert snapshot(engine) == before  # not archived, no revision
    write(content_dir, "posts/x.md", "---\ntitle: Same slug elsewhere\n---\n")
    taken = ingest(engine, content_dir).errors  # its file may still be there: the slug is held
    assert [e["path"] for e in taken] == ["posts/nodir", "posts/x.md"]
    (content_dir / "posts" / "x.md").unlink()
    monkeypatch.undo()
    assert ingest(engine, content_dir).as_json() == summary(unchanged=7)


def test_an_invalid_edit_keeps_the_last_good_version(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    before = snapshot(engine)["cloud-basics"]
    path = content_dir / "posts" / "cloud-basics.md"
    good = path.read_text()
    path.write_text(good.replace("audience: cio", "audience: cfo").replace("clear", "new"))
    error = {
        "path": "posts/cloud-basics.md",
        "message": "line 6, field 'audience': unknown audience 'cfo'; did you mean 'cio'? "
        "(declare new terms in taxonomy.yaml)",
    }
    assert ingest(engine, content_dir).as_json() == summary(unchanged=5, errors=[error])
    assert snapshot(engine)["cloud-basics"] == before
    assert ingest(engine, content_dir).as_json() == summary(unchanged=5, errors=[error])
    path.write_text(good.replace("clear", "new"))
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=5)
    assert piece(engine, "cloud-basics").version == before["version"] + 1


def test_a_taxonomy_change_revalidates_unchanged_files(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    taxonomy = content_dir / "taxonomy.yaml"
    original = taxonomy.read_text()
    taxonomy.write_text(
        original.replace("  - slug: sales\n    label: Sales\n", "").replace(
            "topic:\n", "topic:\n  - slug: roadmap\n"
        )
    )
    error = {
        "path": "posts/analytics-plan.md",
        "message": "line 6, field 'audience': unknown audience 'sales'; "
        "did you mean 'finance'? (declare new terms in taxonomy.yaml)",
    }
    # Every file is read again; only hugo-style's piece changes, and analytics-plan is refused.
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=4, errors=[error])
    assert ("topic", "roadmap") in terms(engine, "hugo-style")  # a free tag became a term
    assert ("tag", "roadmap") not in terms(engine, "hugo-style")
    assert terms(engine, "analytics-plan")[0] == ("audience", "sales")  # last good version
    # still invalid on the next run, though neither the file nor the taxonomy changed since
    assert ingest(engine, content_dir).as_json() == summary(unchanged=5, errors=[error])
    taxonomy.write_text(original)
    assert ingest(engine, content_dir).as_json() == summary(updated=1, unchanged=5)
    assert ("tag", "roadmap") in terms(engine, "hugo-style")
    assert piece(engine, "analytics-plan").version == 1


def test_revalidation_alone_makes_no_revision(engine: Engine, content_dir: Path) -> None:
    ingest(engine, content_dir)
    before = snapshot(engine)
    taxonomy = content_dir / "taxonomy.yaml"
    stamps = {slug: piece(engine, slug).updated_at for slug in before}
    taxonomy.write_text(taxonomy.read_text().replace("label: Cloud", "label: Cloud computing"))
    # Every file is read again, and no piece changes: none is written, and none looks changed
    # to the export (the moment of its last write stays).
    assert ingest(engine, content_dir).as_json() == summary(unchanged=6)
    assert snapshot(engine) == before  # nothing in any piece changed, so no version or revision
    assert {slug: piece(engine, slug).updated_at for slug in before} == stamps


def test_a_broken_taxonomy_stops_the_run_before_anything_is_written(
    engine: Engine, content_dir: Path
) -> None:
    (content_dir / "taxonomy.yaml").write_text("audience:\n  - slug: cio\n label: CIO\n")
    with pytest.raises(TaxonomyError) as caught:
        ingest(engine, content_dir)
    assert str(caught.value) == (
        f"{content_dir / 'taxonomy.yaml'}, line 3: malformed YAML: did not find expected key"
    )
    assert snapshot(engine) == {}


# --- a run that dies part-way ------------------------------------------------------------------


def test_a_killed_run_leaves_whole_batches_and_a_rerun_completes_it(
    engine: Engine, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(engine, content_dir)
    clean = snapshot(engine)
    empty_the_store(engine)

    monkeypatch.setattr(ingest_module, "BATCH", 2)
    original = StoreWriter._terms_and_revisions
    calls: list[int] = []

    def dies_in_the_second_batch(self, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        original(self, *args)

    monkeypatch.setattr(StoreWriter, "_terms_and_revisions", dies_in_the_second_batch)
    with pytest.raises(RuntimeError, match="killed"):
        ingest(engine, content_dir)
    partial = snapshot(engine)
    assert set(partial) == {"analytics-plan", "cloud-basics-finance"}  # the first batch only
    for slug, row in partial.items():
        assert row == clean[slug]  # with its terms and its revision

    monkeypatch.setattr(StoreWriter, "_terms_and_revisions", original)
    report = ingest(engine, content_dir)
    # The first batch's two files are read again (the killed run saved no state) and found
    # as stored.
    assert (report.added, report.updated, report.unchanged, report.errors) == (4, 0, 2, [])
    assert snapshot(engine) == clean
    assert ingest(engine, content_dir).as_json() == summary(unchanged=6)


# --- parallel parsing ---------------------------------------------------------------------------


def test_parallel_parsing_stores_the_same_as_serial(
    engine: Engine, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = ("posts/bad/dup-a.md", "posts/bad/dup-b.md", "posts/bad/unknown-term.md")
    for rel in bad:
        write(content_dir, rel, BAD_FILES[rel])
    write(content_dir, "posts/extra.md", "---\ntitle: Extra\ntags: [cio, misc]\n---\n## Hi\n")
    serial = ingest(engine, content_dir, workers=1).as_json()
    expected = snapshot(engine)
    empty_the_store(engine)

    pools = count_pools(monkeypatch, ingest_module)
    monkeypatch.setattr(ingest_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(ingest_module, "BATCH", 2)
    parallel = ingest(engine, content_dir, workers=2).as_json()
    assert pools == [2]
    errors = [e for e in expected_bad_errors() if e["path"] in bad]
    assert parallel == serial == summary(added=8, errors=errors)
    assert snapshot(engine) == expected


# --- the command line ---------------------------------------------------------------------------


def test_cli_json_summary_and_exit_codes(settings: Settings, content_dir: Path) -> None:
    first = runner.invoke(app, ["ingest", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == summary(added=6)
    write(content_dir, "posts/bad/no-title.md", BAD_FILES["posts/bad/no-title.md"])
    second = runner.invoke(app, ["ingest", "--json"])
    assert second.exit_code == 1
    assert json.loads(second.stdout) == summary(
        unchanged=6,
        errors=[e for e in expected_bad_errors() if e["path"] == "posts/bad/no-title.md"],
    )
    text = runner.invoke(app, ["ingest", str(content_dir)])
    assert text.exit_code == 1
    assert "added 0, updated 0, unchanged 6, removed 0, errors 1" in text.stdout
    assert (
        "posts/bad/no-title.md: field 'title': 'title' is required; add a line 'title: …' "
        "to the front matter"
    ) in text.stderr


def test_cli_on_a_missing_folder(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["ingest", str(missing)])
    assert result.exit_code == 1
    assert f"No content folder at {missing}." in result.output


def test_cli_with_a_broken_taxonomy(settings: Settings, content_dir: Path) -> None:
    (content_dir / "taxonomy.yaml").write_text("audience:\n  - slug: cio\n    weight: heavy\n")
    result = runner.invoke(app, ["ingest", "--json"])
    assert result.exit_code == 1
    assert (
        f"{content_dir / 'taxonomy.yaml'}, line 2: audience term 'cio': "
        "weight must be a number >= 0, got 'heavy'"
    ) in result.output
    shutil.rmtree(content_dir)
    content_dir.mkdir()
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 1
    assert f"{content_dir / 'taxonomy.yaml'}: cannot read the taxonomy file" in result.output


def test_a_batch_keeps_its_pages_in_memory_and_then_the_connection_is_as_before(
    engine: Engine, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a page cache setting of SQLite's")
    seen: list[int] = []
    insert = StoreWriter._insert

    def watched(self: StoreWriter, connection: Any, items: list, stamp: Any) -> list:
        seen.append(connection.exec_driver_sql("PRAGMA cache_spill").scalar())
        return insert(self, connection, items, stamp)

    monkeypatch.setattr(StoreWriter, "_insert", watched)
    ingest(engine, content_dir)
    assert seen and set(seen) == {0}
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_spill").scalar() > 0
