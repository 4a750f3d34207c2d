"""Static export: golden output, safety of the one writer, incremental rebuilds, link check."""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import FROZEN
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from storekit import count_pools
from typer.testing import CliRunner

from editorial import catalog as catalog_module
from editorial import clock
from editorial import export as export_module
from editorial import site as site_module
from editorial.cli import app
from editorial.db import make_engine, upgrade
from editorial.export import MANIFEST, ExportError, Writer, export_site
from editorial.ingest import ingest
from editorial.outdir import Manifest, link_pattern, page_links
from editorial.settings import Settings

GOLDEN = Path(__file__).resolve().parent / "golden" / "site"
BASE = "https://corp.example/insights/"
UPDATE_GOLDEN = bool(os.environ.get("EDITORIAL_UPDATE_GOLDEN"))  # read before fixtures clear it
PUBLIC = {"cloud-basics", "cloud-basics-finance"}
HIDDEN = {"analytics-plan", "hugo-style", "future", "expired"}


def tree(root: Path) -> dict[str, bytes]:
    """Every file below `root` (the manifest aside) by its POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


@pytest.fixture
def store(engine: Engine, content_dir: Path, frozen_clock) -> Engine:
    assert not ingest(engine, content_dir).errors
    return engine


def edit_a_piece(store: Engine, content_dir: Path) -> None:
    """Change the text of cloud-basics-finance (nothing its related pieces are ranked by)."""
    piece = content_dir / "posts" / "cloud-basics-finance.md"
    piece.write_text(piece.read_text().replace("The numbers", "The new numbers"))
    ingest(store, content_dir)


def export(store: Engine, settings: Settings, out: Path, **options):
    report = export_site(store, settings, out, base_url=options.pop("base_url", BASE), **options)
    assert not report.errors, report.errors
    return report


def test_golden_output(store: Engine, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = export(store, settings, out)
    assert report.broken_links == []
    if UPDATE_GOLDEN:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns(MANIFEST))
    expected, actual = tree(GOLDEN), tree(out)
    assert sorted(actual) == sorted(expected)
    for path, data in expected.items():
        assert actual[path] == data, f"{path} differs from tests/golden/site/{path}"


def test_two_exports_are_byte_identical(store: Engine, settings: Settings, tmp_path: Path) -> None:
    export(store, settings, tmp_path / "a")
    export(store, settings, tmp_path / "b", full=True)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert (tmp_path / "a" / MANIFEST).read_bytes() == (tmp_path / "b" / MANIFEST).read_bytes()


def test_stores_built_at_different_moments_export_the_same_bytes(
    engine: Engine, content_dir: Path, settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """A site built afresh from the same files, as a publishing job does, dates its pieces by
    what the files say, not by the moment of the build: every file is the same bytes."""
    monkeypatch.setattr(clock, "now", lambda: FROZEN)
    assert not ingest(engine, content_dir).errors
    export(engine, settings, tmp_path / "a")
    later = make_engine(f"sqlite:///{tmp_path / 'later.db'}")
    upgrade(later)
    monkeypatch.setattr(clock, "now", lambda: FROZEN + timedelta(days=30))
    assert not ingest(later, content_dir).errors
    export(later, settings, tmp_path / "b")
    later.dispose()
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_a_coverage_target_or_a_comment_in_the_taxonomy_reads_and_writes_nothing(
    store: Engine, settings: Settings, content_dir: Path, tmp_path: Path
) -> None:
    """Coverage targets are for the gap report, and no page shows a comment: neither makes
    ingest read the files again nor the export rewrite a page. A term's description is shown
    on pages, so it rewrites them, but files need not be read again for it."""
    out = tmp_path / "out"
    first = export(store, settings, out)
    taxonomy = content_dir / "taxonomy.yaml"
    text = taxonomy.read_text()
    taxonomy.write_text("# planning for 2027\n" + text.replace("per_cell: 1", "per_cell: 3"))
    to_read: list[int] = []
    assert ingest(store, content_dir, on_total=to_read.append).unchanged == 6
    assert to_read == [0]
    again = export(store, settings, out)
    assert (again.written, again.unchanged) == (0, first.files)
    described = "label: Analytics\n    description: Numbers that decide budgets.\n"
    taxonomy.write_text(text.replace("label: Analytics\n", described))
    assert ingest(store, content_dir, on_total=to_read.append).unchanged == 6
    assert to_read == [0, 0]
    assert export(store, settings, out).written > 0
    assert (
        "Numbers that decide budgets." in (out / "topic" / "analytics" / "index.html").read_text()
    )


def test_a_changed_file_dates_its_piece_and_reading_it_again_does_not(
    store: Engine, content_dir: Path, settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    edited = FROZEN + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: edited)
    edit_a_piece(store, content_dir)  # cloud-basics-finance, which has no lastmod
    basics = content_dir / "posts" / "cloud-basics.md"
    basics.write_text(basics.read_text().replace("clear reason", "clear, written reason"))
    assert ingest(store, content_dir).updated == 1
    monkeypatch.setattr(clock, "now", lambda: FROZEN + timedelta(days=5))
    taxonomy = content_dir / "taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text().replace("Chief information", "Chief technology"))
    again = ingest(store, content_dir)  # all six files read again, none changed
    assert (again.updated, again.unchanged) == (0, 6)
    out = tmp_path / "out"
    export(store, settings, out)
    sitemap = (out / "sitemap.xml").read_text()
    pieces = f"<loc>{BASE}pieces"
    assert f"{pieces}/cloud-basics-finance/</loc><lastmod>2026-06-03T12:00:00Z<" in sitemap
    assert f"{pieces}/cloud-basics/</loc><lastmod>2025-05-10T06:30:00Z<" in sitemap  # lastmod
    page = (out / "pieces" / "cloud-basics-finance" / "index.html").read_text()
    assert '"dateModified": "2026-06-03T12:00:00Z"' in page
    feed = (out / "feed.xml").read_text()
    assert "<updated>2026-06-03T12:00:00Z</updated>" in feed


def test_a_sitemap_too_long_for_one_file_becomes_an_index_of_parts(
    store: Engine, settings: Settings, client: TestClient, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(site_module, "SITEMAP_SIZE", 4)  # the site has 9 addresses to list
    out = tmp_path / "out"
    export(store, settings, out, base_url=settings.base_url)  # the served site's, to compare
    index = (out / "sitemap.xml").read_text()
    assert "<sitemapindex" in index and "<urlset" not in index
    named = re.findall(r"<loc>([^<]+)</loc>", index)
    assert named == [f"{settings.base_url}sitemap-{n}.xml" for n in (1, 2, 3)]
    listed = [
        re.findall(r"<loc>([^<]+)</loc>", (out / f"sitemap-{n}.xml").read_text()) for n in (1, 2, 3)
    ]
    assert [len(part) for part in listed] == [4, 4, 1]
    assert f"{settings.base_url}pieces/cloud-basics/" in listed[2]
    served = [client.get(f"/sitemap-{n}.xml") for n in (1, 2, 3, 4)]
    assert [r.status_code for r in served] == [200, 200, 200, 404]
    assert [r.text for r in served[:3]] == [
        (out / f"sitemap-{n}.xml").read_text() for n in (1, 2, 3)
    ]
    assert client.get("/sitemap.xml").text == index
    monkeypatch.setattr(site_module, "SITEMAP_SIZE", 50_000)
    report = export(store, settings, out, base_url=settings.base_url)
    assert report.removed == 3 and "<urlset" in (out / "sitemap.xml").read_text()


def test_only_public_pieces_appear_anywhere(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(store, settings, out)
    assert {p.name for p in (out / "pieces").iterdir()} == PUBLIC
    everything = b"".join(tree(out).values()).decode()
    for slug in HIDDEN:
        assert slug not in everything
    for title in ("Analytics: a plan", "Coming soon", "An expired offer", "Hugo's way"):
        assert title not in everything


def test_prefix_base_url(store: Engine, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = export(store, settings, out)
    assert report.broken_links == []
    home = (out / "index.html").read_text()
    assert '<a href="/insights/pieces/cloud-basics/">' in home
    assert 'href="/insights/static/site.css"' in home
    assert '<link rel="canonical" href="https://corp.example/insights/">' in home
    assert 'href="/pieces/' not in home
    sitemap = (out / "sitemap.xml").read_text()
    assert "<loc>https://corp.example/insights/pieces/cloud-basics/</loc>" in sitemap
    assert "<lastmod>2025-05-10T06:30:00Z</lastmod>" in sitemap  # its front matter lastmod
    assert "Sitemap: https://corp.example/insights/sitemap.xml" in (out / "robots.txt").read_text()


def test_feeds_for_the_site_and_each_term(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(store, settings, out)
    site = (out / "feed.xml").read_text()
    assert site.count("<entry>") == 2
    assert "<id>https://corp.example/insights/pieces/cloud-basics/</id>" in site
    cio = (out / "audience" / "cio" / "feed.xml").read_text()
    assert cio.count("<entry>") == 1 and "Cloud basics for the CIO" in cio
    assert (out / "topic" / "analytics" / "feed.xml").read_text().count("<entry>") == 0


def test_feeds_stay_xml_whatever_the_store_holds(
    store: Engine, settings: Settings, client: TestClient, tmp_path: Path
) -> None:
    """Text with a character XML forbids is refused on the way in; a store written before that,
    or edited by hand, still gives feeds every reader can parse, served and exported alike."""
    with store.begin() as connection:
        connection.execute(
            text("UPDATE piece SET title = :title, author = :author WHERE slug = 'cloud-basics'"),
            {"title": "Cloud\x0bbasics\x1b", "author": "Dana\x08 Reyes"},
        )
    out = tmp_path / "out"
    export(store, settings, out, base_url=settings.base_url)
    for path in ("feed.xml", "topic/cloud/feed.xml", "sitemap.xml"):
        ElementTree.fromstring((out / path).read_bytes())  # raises on a forbidden character
        assert client.get("/" + path).content == (out / path).read_bytes(), path
    assert "<title>Cloudbasics</title>" in (out / "feed.xml").read_text()


def test_an_author_with_no_latin_letters_has_a_page(
    store: Engine, settings: Settings, content_dir: Path, client: TestClient, tmp_path: Path
) -> None:
    """A name that makes no slug used to link every piece of its author to `authors//`."""
    (content_dir / "posts" / "li.md").write_text(
        "---\ntitle: Cloud in Chinese\nauthor: 李雷\ndate: 2026-05-01\nstatus: published\n---\nBody.\n",
        encoding="utf-8",
    )
    assert not ingest(store, content_dir).errors
    out = tmp_path / "out"
    report = export(store, settings, out, base_url=settings.base_url)
    assert report.broken_links == []
    (author,) = re.findall(
        r'By <a href="/authors/([^"/]+)/">李雷</a>', client.get("/pieces/li/").text
    )
    assert re.fullmatch("author-[0-9a-f]{8}", author)
    page = out / "authors" / author / "index.html"
    assert "Cloud in Chinese" in page.read_text()
    assert client.get(f"/authors/{author}/").content == page.read_bytes()


def test_aliases_make_redirects(store: Engine, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(store, settings, out)
    page = (out / "old" / "cloud-basics" / "index.html").read_text()
    assert 'content="0; url=/insights/pieces/cloud-basics/"' in page
    assert (out / "legacy-cloud.html").is_file()
    assert (out / "_redirects").read_text() == (
        "/insights/legacy-cloud.html /insights/pieces/cloud-basics/ 301\n"
        "/insights/old/cloud-basics/ /insights/pieces/cloud-basics/ 301\n"
    )
    assert (
        "/insights/old/cloud-basics/ /insights/pieces/cloud-basics/;"
        in (out / "nginx-redirects.map").read_text()
    )


@pytest.mark.parametrize("alias", ["../../escape", "/../outside/", "a/../../b", "bad alias", ""])
def test_hostile_aliases_are_refused(
    engine: Engine, settings: Settings, content_dir: Path, tmp_path: Path, alias: str
) -> None:
    (content_dir / "posts" / "evil.md").write_text(
        f'---\ntitle: Evil\naliases: ["{alias}"]\n---\nbody\n', encoding="utf-8"
    )
    ingest(engine, content_dir)
    out = tmp_path / "site" / "out"
    report = export_site(engine, settings, out, base_url=BASE)
    assert len(report.errors) == 1 and "alias" in report.errors[0]
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["out"]
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "/etc/passwd",
        "a/../../x",
        "a\\b",
        "./x",
        "a/./b",
        "a//b",
        "pieces/",
        "",
        "a\x00b",
        ".editorial-staging/index.html",
    ],
)
def test_writer_refuses_paths_outside_out(tmp_path: Path, path: str) -> None:
    with pytest.raises(ExportError, match="refusing to write"):
        Writer(tmp_path).reserve(path)


@pytest.mark.parametrize("kind", ["a link", "not a folder"])
def test_a_staging_name_that_is_not_a_folder_is_named_not_used(
    store: Engine, settings: Settings, tmp_path: Path, kind: str
) -> None:
    """A file there failed every export with a bare 'File exists'; a link could lead the
    staged pages elsewhere. Neither is removed: the export says what to do."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    staging = out / ".editorial-staging"
    if kind == "a link":
        staging.symlink_to(elsewhere)
    else:
        staging.write_text("notes")
    with pytest.raises(ExportError, match=f"refusing to use '{staging}': it is {kind}; remove it"):
        export(store, settings, out)
    assert sorted(p.name for p in out.iterdir()) == [".editorial-staging"]
    assert list(elsewhere.iterdir()) == []


def test_writer_refuses_two_files_at_one_path(tmp_path: Path) -> None:
    writer = Writer(tmp_path)
    writer.reserve("pieces/a/index.html")
    with pytest.raises(
        ExportError, match=re.escape("two files want the path 'pieces/a/index.html'")
    ):
        writer.reserve("pieces/a/index.html")


@pytest.mark.parametrize("workers", [1, 2])
def test_two_files_at_one_path_stop_the_export(
    store: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    """Refused by one process, and by worker processes already rendering when the clash is
    planned: either way nothing reaches OUT and nothing staged is left."""
    monkeypatch.setattr(export_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(export_module, "CHUNK", 2)
    static = export_module.Planner._static
    clash = export_module.Spec("pieces/cloud-basics/index.html", "text", ("x",), "f")
    monkeypatch.setattr(export_module.Planner, "_static", lambda self: [*static(self), clash])
    engine, out = store, tmp_path / "out"
    with pytest.raises(
        ExportError, match=re.escape("two files want the path 'pieces/cloud-basics/index.html'")
    ):
        export_site(engine, settings, out, base_url=BASE, workers=workers)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("alias", "problem"),
    [
        ("pieces/cloud-basics/", "is the address of another page or file"),
        ("/index.html", "is the address of another page or file"),
        ("topic/cloud/", "is the address of another page or file"),
        ("feed.xml", "is the address of another page or file"),  # feed.xml/ would be a folder
        ("static/site.css", "is the address of another page or file"),
        ("old/cloud-basics/", "is already an alias of piece 'cloud-basics'"),
        ("x/./y/", "is not a safe site path"),
        (".editorial-export.json", "is not a safe site path"),
    ],
)
def test_an_alias_on_another_address_is_reported_and_skipped(
    engine: Engine, settings: Settings, content_dir: Path, tmp_path: Path, alias, problem
) -> None:
    """Each of these stopped the whole export, some with a raw file system error."""
    (content_dir / "posts" / "clash.md").write_text(
        f"---\ntitle: Clash\naliases: ['{alias}', /clash-was-here/, /clash-was-here/]\n---\nb\n",
        encoding="utf-8",
    )
    ingest(engine, content_dir)
    out = tmp_path / "out"
    report = export_site(engine, settings, out, base_url=BASE)
    (error,) = report.errors
    assert error.startswith(f"piece 'clash': alias '{alias}' {problem}")
    assert (
        "Cloud basics for the CIO" in (out / "pieces" / "cloud-basics" / "index.html").read_text()
    )
    assert (out / "feed.xml").read_text().startswith("<?xml")
    assert (out / "clash-was-here" / "index.html").is_file()  # its other alias, once
    assert (out / "_redirects").read_text().count("/pieces/clash/") == 1


def test_a_link_out_of_the_export_is_not_followed(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "pieces").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExportError, match="leads outside the export"):
        export(store, settings, out)
    assert list(elsewhere.iterdir()) == []


def test_an_export_into_a_folder_made_from_another_store_rewrites_what_differs(
    engine: Engine, content_dir: Path, settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """A store built again from nothing counts its versions from 1 again (and one restored
    from an older backup goes back to older ones): a list page showing the same slugs at the
    same versions may still show a different title, so the pieces' write times count too."""
    monkeypatch.setattr(clock, "now", lambda: FROZEN)
    assert not ingest(engine, content_dir).errors
    out = tmp_path / "out"
    export(engine, settings, out)
    piece = content_dir / "posts" / "cloud-basics-finance.md"
    text = piece.read_text()
    assert "title: Cloud basics for finance" in text
    piece.write_text(text.replace("title: Cloud basics for finance", "title: Cloud costs, plainly"))
    later = make_engine(f"sqlite:///{tmp_path / 'later.db'}")
    upgrade(later)
    monkeypatch.setattr(clock, "now", lambda: FROZEN + timedelta(days=1))
    assert not ingest(later, content_dir).errors
    again = export(later, settings, out)
    export(later, settings, tmp_path / "fresh")
    later.dispose()
    assert 0 < again.written < again.files
    assert "Cloud costs, plainly" in (out / "index.html").read_text()
    assert tree(out) == tree(tmp_path / "fresh")


def test_incremental_export(
    store: Engine,
    settings: Settings,
    content_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    first = export(store, settings, out)
    assert (first.written, first.unchanged, first.removed) == (first.files, 0, 0)
    again = export(store, settings, out)
    assert (again.written, again.unchanged, again.removed) == (0, first.files, 0)

    rankings = []
    rank = catalog_module._rank_related
    monkeypatch.setattr(
        catalog_module, "_rank_related", lambda *args: rankings.append(1) or rank(*args)
    )
    edit_a_piece(store, content_dir)
    changed = export(store, settings, out)
    assert rankings == []  # the text changed, not what related pieces are ranked by
    assert changed.removed == 0
    assert 0 < changed.written < first.files // 2
    assert "The new numbers" in (out / "pieces/cloud-basics-finance/index.html").read_text()
    fresh = tmp_path / "fresh"
    export(store, settings, fresh)
    assert tree(out) == tree(fresh)
    assert Manifest.read(out).decoded() == Manifest.read(fresh).decoded()
    assert Manifest.read(out).related == Manifest.read(fresh).related  # the adopted ranking


def test_worker_processes_write_what_one_process_writes(
    store: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big export renders in forked worker processes (a small one here, by lowering the
    threshold): the files, and the manifest with the links each worker found, are byte for byte
    what one process makes, and nothing staged is left behind."""
    pools = count_pools(monkeypatch, export_module)
    monkeypatch.setattr(export_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(export_module, "CHUNK", 3)
    one, two = tmp_path / "one", tmp_path / "two"
    alone = export(store, settings, one, workers=1)
    assert pools == []
    shared = export(store, settings, two, workers=2)
    assert pools == [2]
    assert shared == alone and shared.written == shared.files > 2 * 3
    assert tree(two) == tree(one)
    assert (two / MANIFEST).read_bytes() == (one / MANIFEST).read_bytes()
    assert sorted(p.name for p in two.iterdir() if p.name.startswith(".")) == [MANIFEST]


def test_progress_hears_every_file_written(
    store: Engine,
    settings: Settings,
    content_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI's progress bar is told how many files an export will write, then how many more
    are done, in chunks, until all of them are."""
    monkeypatch.setattr(export_module, "CHUNK", 3)
    out = tmp_path / "out"
    totals: list[int] = []
    steps: list[int] = []
    first = export(store, settings, out, on_total=totals.append, on_advance=steps.append)
    assert totals == [first.written] and sum(steps) == first.written
    assert len(steps) > 1 and all(0 < step <= 3 for step in steps)
    edit_a_piece(store, content_dir)
    totals.clear()
    steps.clear()
    again = export(store, settings, out, on_total=totals.append, on_advance=steps.append)
    assert totals == [again.written] and sum(steps) == again.written > 0


def test_unpublished_piece_is_removed(
    store: Engine, settings: Settings, content_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(store, settings, out)
    assert (out / "pieces/cloud-basics-finance/index.html").is_file()
    piece = content_dir / "posts" / "cloud-basics-finance.md"
    piece.write_text(
        piece.read_text().replace("date: 2025-04-01", "date: 2025-04-01\nstatus: draft")
    )
    ingest(store, content_dir)
    report = export(store, settings, out)
    assert report.removed == 1  # its page (it has no author page)
    assert not (out / "pieces/cloud-basics-finance").exists()
    assert "cloud-basics-finance" not in b"".join(tree(out).values()).decode()
    fresh = _fresh_export(store, settings, tmp_path)
    assert tree(out) == tree(fresh)
    assert Manifest.read(out).decoded() == Manifest.read(fresh).decoded()


def test_a_draft_edit_leaves_the_export_alone_and_publishing_it_does_not(
    store: Engine,
    settings: Settings,
    content_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The export is planned again only when what readers may see changed: a draft's edit is
    answered from the manifest, without reading the catalog."""
    out = tmp_path / "out"
    first = export(store, settings, out)
    draft = content_dir / "posts" / "analytics-plan.md"
    draft.write_text(draft.read_text() + "\nA new paragraph for the plan.\n")
    assert ingest(store, content_dir).updated == 1
    with monkeypatch.context() as patched:
        patched.setattr(export_module, "load_catalog", lambda *args: pytest.fail("planned again"))
        quiet = export(store, settings, out)
    assert (quiet.written, quiet.unchanged, quiet.removed) == (0, first.files, 0)
    draft.write_text(draft.read_text().replace("status: planned", "status: published"))
    assert ingest(store, content_dir).updated == 1
    published = export(store, settings, out)
    assert published.written > 0
    assert "A new paragraph for the plan." in (out / "pieces/analytics-plan/index.html").read_text()
    assert tree(out) == tree(_fresh_export(store, settings, tmp_path))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.replace(b'"stamp":[', b'"stamp":["x",', 1),  # an edit
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data.partition(b"\n")[2],  # no first line, as format 2 had
    ],
)
def test_a_damaged_manifest_counts_as_none(
    store: Engine, settings: Settings, tmp_path: Path, damage
) -> None:
    out = tmp_path / "out"
    first = export(store, settings, out)
    manifest = out / MANIFEST
    manifest.write_bytes(damage(manifest.read_bytes()))
    assert Manifest.read(out) == Manifest()
    again = export(store, settings, out)
    assert (again.written, again.unchanged) == (first.files, 0)
    assert (
        Manifest.read(out).decoded()
        == Manifest.read(_fresh_export(store, settings, tmp_path)).decoded()
    )


def test_only_href_and_src_targets_inside_the_site_are_links() -> None:
    page = (
        b'<a href="/insights/a/#top"><img src="/insights/static/s.png">'
        b'<form action="/insights/pieces/p/rate"><section data-api="/insights/">'
        b'<a href="https://elsewhere.example/insights/b/"><a href="/insights/c/?page=2">'
        b'<a href="/insights/a/"><link rel="canonical" href="https://corp.example/insights/">'
    )
    pattern = link_pattern("/insights/")
    assert page_links(pattern, page) == ["a/", "c/", "static/s.png"]


def test_the_link_table_keeps_what_files_hold_and_is_rebuilt_when_it_must_be() -> None:
    manifest = Manifest(links=["a/", "b/"])
    manifest.files = {"x.html": ["f", manifest.encode(["b/", "c/"])], "y.html": ["f", ""]}
    assert manifest.links == ["a/", "b/", "c/"]  # new links go at the end
    manifest.finish({"a/index.html", "b/index.html", "c/index.html"})
    assert manifest.links == ["a/", "b/", "c/"]  # nothing missing, small: left as it is
    assert manifest.decoded() == {"x.html": ["b/", "c/"], "y.html": []}
    assert manifest.broken_links == []
    manifest.finish({"b/index.html", "c/index.html"})  # a/ is gone, but no file holds it
    assert manifest.links == ["b/", "c/"] and manifest.broken_links == []
    assert manifest.decoded() == {"x.html": ["b/", "c/"], "y.html": []}
    manifest.finish({"b/index.html"})
    assert manifest.broken_links == [{"page": "x.html", "link": "c/"}]
    grown = Manifest(links=[f"p{i}/" for i in range(100)])
    grown.files = {"x.html": ["f", grown.encode(["p7/"])]}
    grown.finish({"p7/index.html"} | {f"p{i}/index.html" for i in range(100)})
    assert grown.links == ["p7/"] and grown.decoded() == {"x.html": ["p7/"]}


def test_deleted_file_is_rewritten_even_when_nothing_changed(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(store, settings, out)
    (out / "index.html").unlink()
    report = export(store, settings, out)
    assert report.written == 1
    assert (out / "index.html").is_file()


def test_files_not_written_by_export_are_left_alone(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep-me.txt").write_text("mine")
    export(store, settings, out, full=True)
    assert (out / "keep-me.txt").read_text() == "mine"


@pytest.fixture
def broken_theme(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A theme whose 404 page links to a page the export does not have; the test's settings
    with that theme."""
    theme = tmp_path / "themes" / "broken"
    theme.mkdir(parents=True)
    (theme / "404.html").write_text(
        '{% extends "default:404.html" %}{% block main %}<a href="{{ site.url(\'nowhere/\') }}">x</a>'
        "{% endblock %}"
    )
    monkeypatch.setenv("EDITORIAL_THEMES_DIR", str(tmp_path / "themes"))
    monkeypatch.setenv("EDITORIAL_THEME", "broken")
    return Settings()


def test_link_check_and_strict(store: Engine, broken_theme: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    lenient = runner.invoke(app, ["export", str(out), "--base-url", BASE])
    assert lenient.exit_code == 0, lenient.output
    assert "broken link: 404.html -> nowhere/" in lenient.output
    strict = runner.invoke(app, ["export", str(out), "--base-url", BASE, "--strict"])
    assert strict.exit_code == 1
    assert "broken link: 404.html -> nowhere/" in strict.output


def test_links_of_unchanged_pages_are_checked_from_the_manifest(
    store: Engine, broken_theme: Settings, content_dir: Path, tmp_path: Path
) -> None:
    """An incremental export checks the links of the pages it did not rewrite from what the
    manifest kept of them, so a broken link on an unchanged page is still reported."""
    themed = broken_theme
    out = tmp_path / "out"
    first = export(store, themed, out)
    assert first.broken_links == [{"page": "404.html", "link": "nowhere/"}]
    edit_a_piece(store, content_dir)
    again = export(store, themed, out)
    assert 0 < again.written < first.files // 2  # 404.html is not among them
    assert again.broken_links == first.broken_links
    fresh = export(store, themed, tmp_path / "fresh")
    assert fresh.broken_links == first.broken_links


def test_a_body_link_that_misses_the_path_prefix_is_reported_with_its_fix(
    store: Engine, settings: Settings, content_dir: Path, tmp_path: Path
) -> None:
    """Under /insights/, a body link to /pieces/cloud-basics/ leads out of the site; a link to
    the corporate site's root or to a page the export does not have is not this site's."""
    piece = content_dir / "posts" / "cloud-basics-finance.md"
    links = "[a](/pieces/cloud-basics/) [b](/) [c](/contact/) [d](/insights/pieces/cloud-basics/)"
    piece.write_text(piece.read_text() + f"\n{links} [e](../cloud-basics/#top)\n")
    assert not ingest(store, content_dir).errors
    stray = {
        "page": "pieces/cloud-basics-finance/index.html",
        "link": "/pieces/cloud-basics/",
        "fix": "../cloud-basics/",
    }
    out = tmp_path / "out"
    assert export(store, settings, out).broken_links == [stray]
    assert export(store, settings, out).broken_links == [stray]  # kept for the unchanged page
    result = CliRunner().invoke(app, ["export", str(out), "--base-url", BASE, "--strict"])
    assert result.exit_code == 1
    assert (
        "broken link: pieces/cloud-basics-finance/index.html -> /pieces/cloud-basics/ "
        "(misses the site's path prefix; write '../cloud-basics/')"
    ) in result.output
    # At the root every root-relative link is the site's own, and checked as such.
    at_root = export(store, settings, tmp_path / "root", base_url="https://corp.example/")
    page = stray["page"]
    assert at_root.broken_links == [
        {"page": page, "link": "contact/"},
        {"page": page, "link": "insights/pieces/cloud-basics/"},
    ]


def test_served_page_and_exported_page_are_the_same_bytes(
    store: Engine, settings: Settings, client: TestClient, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export(store, settings, out, base_url=settings.base_url)
    for path in [
        "",
        "pieces/cloud-basics/",
        "audience/cio/",
        "authors/dana-reyes/",
        "feed.xml",
        "sitemap.xml",
        "robots.txt",
        "topic/cloud/feed.xml",
    ]:
        served = client.get("/" + path)
        assert served.status_code == 200, path
        file = out / (path + "index.html" if path.endswith("/") or not path else path)
        assert served.content == file.read_bytes(), path
    missing = client.get("/pieces/analytics-plan/")
    assert missing.status_code == 404
    assert missing.content == (out / "404.html").read_bytes()


def test_theme_override_extends_one_block(
    store: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theme = tmp_path / "themes" / "corporate"
    (theme / "static").mkdir(parents=True)
    (theme / "piece.html").write_text(
        '{% extends "default:piece.html" %}{% block title %}ACME — {{ piece.title }}{% endblock %}'
    )
    (theme / "static" / "site.css").write_text("body { color: rebeccapurple; }")
    monkeypatch.setenv("EDITORIAL_THEMES_DIR", str(tmp_path / "themes"))
    monkeypatch.setenv("EDITORIAL_THEME", "corporate")
    out = tmp_path / "out"
    export(store, Settings(_env_file=None), out)  # type: ignore[call-arg]
    page = (out / "pieces/cloud-basics/index.html").read_text()
    assert "<title>ACME — Cloud basics for the CIO</title>" in page
    assert "Why now" in page  # the rest comes from the default theme
    assert (out / "static/site.css").read_text() == "body { color: rebeccapurple; }"
    assert "<title>CIO · Editorial</title>" in (out / "audience/cio/index.html").read_text()


def test_a_theme_may_still_call_card(
    store: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default lists show `piece | card`; a theme whose list calls `card(piece)`, as
    lists did before, gets the same pages."""
    default = tmp_path / "default"
    export(store, settings, default)
    listing = (Path(__file__).resolve().parents[1] / "themes/default/_list.html").read_text()
    assert "{{ piece | card }}" in listing
    theme = tmp_path / "themes" / "corporate"
    theme.mkdir(parents=True)
    (theme / "_list.html").write_text(listing.replace("{{ piece | card }}", "{{ card(piece) }}"))
    monkeypatch.setenv("EDITORIAL_THEMES_DIR", str(tmp_path / "themes"))
    monkeypatch.setenv("EDITORIAL_THEME", "corporate")
    out = tmp_path / "out"
    export(store, Settings(_env_file=None), out)  # type: ignore[call-arg]
    for page in ("index.html", "audience/cio/index.html", "authors/dana-reyes/index.html"):
        assert (out / page).read_bytes() == (default / page).read_bytes(), page
    assert b'<li class="card">' in (out / "index.html").read_bytes()


def _fresh_export(store: Engine, settings: Settings, tmp_path: Path) -> Path:
    fresh = tmp_path / "fresh"
    export(store, settings, fresh)
    return fresh
