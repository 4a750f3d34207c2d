"""Static export: plan every page, render only what changed, write through one guarded writer.

Two phases, as in the best static-site generators: every output file is planned with a
fingerprint of everything it is made from (no rendering), and only the files whose fingerprint
differs from the last export's manifest are rendered and written, on every core when there are
many. The phases overlap: files are planned in groups, and worker processes render the first
groups while the parent plans the pieces' pages, which alone need the related pieces ranked.
Files the last export wrote that no longer belong are removed; nothing else is touched.

Rendered files go to a staging folder inside OUT first and are moved into place only once every
one was written: a full disk or any other failure leaves the previous export as it was, and a
killed export leaves only the staging folder, which the next export clears."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Engine
from sqlmodel import Session

from editorial import clock, site
from editorial.catalog import Catalog, Entry, change_key, load_catalog, next_change
from editorial.feedback import api_base, fingerprints, widgets
from editorial.markdown import RENDER_VERSION
from editorial.models import DIMENSIONS
from editorial.outdir import (
    EXPORT_VERSION,
    MANIFEST,
    ExportError,
    FileWriter,
    Manifest,
    Writer,
    commit,
    fresh_staging,
    link_pattern,
    page_links,
    remove_stale,
    stray_links,
    stray_pattern,
)
from editorial.pieces import html_of
from editorial.render import Renderer, author_path, piece_path, term_path, theme_fingerprint
from editorial.settings import Settings, check_base_url
from editorial.site import Pages, _paged
from editorial.taxonomy import current_taxonomy

if TYPE_CHECKING:  # the callbacks are ingest's kind; ingest itself is not needed here
    from editorial.ingest import Progress

CHUNK = 200
PARALLEL_FROM = 400
ALIAS_RE = re.compile(r"^[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*/?$")
__all__ = ["MANIFEST", "ExportError", "ExportReport", "Writer", "export_site"]


class Spec(NamedTuple):
    """One output file: where it goes, how to make it, and a fingerprint of its inputs."""

    path: str
    kind: str
    args: tuple = ()
    fingerprint: str = ""


@dataclass
class ExportReport:
    """What one export did; `as_json()` is the CLI's `--json` output."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    files: int = 0
    errors: list[str] = field(default_factory=list)
    broken_links: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _hash(*parts: object) -> str:
    return _digest(repr(parts))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _joined(entries: Iterable[Entry]) -> str:
    """The signatures of `entries`, in order, as one text (signatures hold no commas)."""
    return ",".join([e.signature for e in entries])


class Planner:
    """Turns a catalog into every output file, with its fingerprint, in groups (`groups`)."""

    def __init__(
        self,
        catalog: Catalog,
        pages: Pages,
        settings: Settings,
        common: str,
        feedback: dict[int, str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.pages = pages
        self.settings = settings
        self.common = common
        self.feedback = feedback or {}  # piece id -> digest of its ratings and approved comments
        self.errors: list[str] = []

    def groups(self) -> Iterator[list[Spec]]:
        """Every output file, in three groups planned one after the other: the pieces' pages
        come last, because only they need the related pieces ranked, so that an export can
        start rendering the first groups while the ranking is still being worked out."""
        # List pages go in the order of the newest piece each shows, so that pages showing the
        # same pieces fall in the same chunks: each worker renders a card once and keeps it.
        # Listed by kind, two workers rendered nearly every card each (14,966 renders for 7,513
        # pieces); in this order, 9,067.
        lists = [spec for _key, spec in sorted(self._lists(), key=itemgetter(0))]
        yield lists
        others = [*self._feeds(), *self._singles(), *self._static()]
        taken: set[str] = set()
        if any(entry.aliases for entry in self.catalog.entries):  # most sites have none
            taken = {s.path for s in lists + others}
            taken.update(piece_path(entry.slug) + "index.html" for entry in self.catalog.entries)
        yield [*others, *self._aliases(taken)]
        yield list(self._pieces())

    def _listing(
        self, kind: str, base: str, entries: list[Entry], *args: str
    ) -> Iterator[tuple[tuple[int, str], Spec]]:
        per_page = self.pages.per_page
        count = self.pages.page_count(entries)
        head = f"{self.common}\0{kind}\0{'/'.join(args)}\0"  # slugs hold no slashes or NULs
        for page in range(1, count + 1):
            shown = entries[(page - 1) * per_page : page * per_page]
            fingerprint = _digest(f"{head}{page}\0{count}\0{_joined(shown)}")
            path = _paged(base, page) + "index.html"
            newest = self.position[shown[0].slug] if shown else -1
            yield (newest, path), Spec(path, kind, (*args, page), fingerprint)

    @cached_property
    def position(self) -> dict[str, int]:
        """Each piece's place in the newest-first order of the catalog."""
        return {entry.slug: i for i, entry in enumerate(self.catalog.entries)}

    def _lists(self) -> Iterator[tuple[tuple[int, str], Spec]]:
        yield from self._listing("home", "", self.catalog.entries)
        for dimension in DIMENSIONS:
            for term in self.pages.taxonomy.terms(dimension):
                entries = self.catalog.by_term.get((dimension, term.slug), [])
                yield from self._listing(
                    "term", term_path(dimension, term.slug), entries, dimension, term.slug
                )
        for slug, entries in sorted(self.catalog.by_author.items()):
            yield from self._listing("author", author_path(slug), entries, slug)

    def _pieces(self) -> Iterator[Spec]:
        catalog, common, feedback = self.catalog, self.common, self.feedback
        for entry in catalog.entries:
            core, related = catalog.core(entry), catalog.related(entry)
            variants = catalog.variants.get(entry.slug)  # most pieces have none
            fingerprint = _digest(
                f"{common}\0{entry.signature}\0{_joined(related)}\0{core.signature if core else ''}"
                f"\0{_joined(variants) if variants else ''}\0{feedback.get(entry.id, '')}"
            )
            # The related pieces go with the spec: workers may be forked before the ranking.
            args = (entry.slug, tuple([e.slug for e in related]))
            yield Spec(piece_path(entry.slug) + "index.html", "piece", args, fingerprint)

    def _feeds(self) -> Iterator[Spec]:
        def shown(entries: list[Entry]) -> str:
            return _joined(entries[:20])

        yield Spec("feed.xml", "feed", (), _hash(self.common, shown(self.catalog.entries)))
        for dimension in DIMENSIONS:
            for term in self.pages.taxonomy.terms(dimension):
                entries = self.catalog.by_term.get((dimension, term.slug), [])
                path = term_path(dimension, term.slug) + "feed.xml"
                yield Spec(path, "feed", (dimension, term.slug), _hash(self.common, shown(entries)))

    def _singles(self) -> list[Spec]:
        everything = _digest(f"{self.common}\0{_joined(self.catalog.entries)}")
        parts = self.pages.sitemap_parts(self.catalog)
        return [
            Spec("sitemap.xml", "sitemap", (), everything),
            *(Spec(f"sitemap-{n}.xml", "sitemap", (n,), everything) for n in range(1, parts + 1)),
            Spec("robots.txt", "robots", (), self.common),
            Spec("404.html", "notfound", (), self.common),
        ]

    def _aliases(self, taken: set[str]) -> list[Spec]:
        """A redirect page per alias, except where it would stand on the address of another
        file (`taken`) or of another alias, or in a folder that is a file: such an alias is
        reported and skipped, and the rest of the export goes on."""
        specs, rules = [], []
        base = self.pages.renderer.site.base_path
        owners: dict[str, str] = {}  # redirect page -> the piece it sends readers to
        folders: set[str] | None = None  # made only when some alias needs them
        for entry in reversed(self.catalog.entries):  # of two pieces, the older keeps an alias
            target = piece_path(entry.slug)
            for alias in entry.aliases:
                clean = alias.strip().lstrip("/")
                parts = clean.rstrip("/").split("/")
                if not ALIAS_RE.match(clean) or any(part.startswith(".") for part in parts):
                    self.errors.append(
                        f"piece '{entry.slug}': alias '{alias}' is not a safe site path (letters, "
                        "digits, '.', '_', '~', '-', '/'; no part may start with '.')"
                    )
                    continue
                path = clean if clean.endswith(".html") else clean.rstrip("/") + "/index.html"
                if owners.get(path) == entry.slug:
                    continue  # the same alias twice
                folders = _folders(taken) if folders is None else folders
                above = ["/".join(parts[:n]) for n in range(1, path.count("/") + 1)]
                if path in owners:
                    clash = f"already an alias of piece '{owners[path]}'"
                elif path in taken or path in folders or any(p in taken for p in above):
                    clash = "the address of another page or file"
                else:
                    owners[path] = entry.slug
                    taken.add(path)
                    folders.update(above)
                    clash = ""
                if clash:
                    self.errors.append(f"piece '{entry.slug}': alias '{alias}' is {clash}")
                    continue
                fingerprint = _hash(self.common, clean, target)
                specs.append(Spec(path, "redirect", (clean, target), fingerprint))
                rules.append((base + clean, base + target))
        rules.sort()
        redirects = "".join(f"{old} {new} 301\n" for old, new in rules)
        nginx = "".join(f"{old} {new};\n" for old, new in rules)
        specs.append(Spec("_redirects", "text", (redirects,), _hash(redirects)))
        specs.append(Spec("nginx-redirects.map", "text", (nginx,), _hash(nginx)))
        return specs

    def _static(self) -> list[Spec]:
        found: dict[str, Path] = {}
        for theme in reversed(self.settings.theme_dirs()):
            root = theme / "static"
            for file in sorted(root.rglob("*")) if root.is_dir() else []:
                if file.is_file():
                    found["static/" + file.relative_to(root).as_posix()] = file
        return [
            Spec(rel, "static", (str(src),), _hash(src.read_bytes()))
            for rel, src in sorted(found.items())
        ]


class Maker:
    """Renders specs to bytes; one lives in each worker process."""

    current: Maker | None = None

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        pages: Pages,
        out: Path,
        settings: Settings,
        with_feedback: Collection[int],
    ) -> None:
        self.engine = engine
        self.with_feedback = with_feedback  # the pieces with any ratings or comments
        self.settings = settings
        self.catalog = catalog
        self.pages = pages
        self.files = FileWriter(fresh_staging(out))
        self.link_re = link_pattern(pages.renderer.site.base_path)
        self.stray_re = stray_pattern(pages.renderer.site.base_path)

    def make(self, specs: list[Spec]) -> list[tuple[str, list[str]]]:
        """Render and write `specs`; returns each file's internal links."""
        slugs = [s.args[0] for s in specs if s.kind == "piece"]
        html, feedback = {}, {}
        if slugs:
            ids = [self.catalog.by_slug[slug].id for slug in slugs]
            with Session(self.engine) as session:
                html = html_of(session, ids)
                feedback = widgets(session, self.settings, ids, having=self.with_feedback)
        done = []
        for spec in specs:
            data = self.render(spec, html, feedback)
            self.files.write(spec.path, data)
            links = page_links(self.link_re, data) if spec.path.endswith(".html") else []
            if spec.kind == "piece" and self.stray_re:
                links += stray_links(self.stray_re, html[self.catalog.by_slug[spec.args[0]].id])
            done.append((spec.path, links))
        return done

    def render(self, spec: Spec, html: dict[int, str], feedback: dict | None = None) -> bytes:
        pages, catalog, args = self.pages, self.catalog, spec.args
        if spec.kind == "static":
            return Path(args[0]).read_bytes()
        if spec.kind == "piece":
            entry, related = catalog.by_slug[args[0]], [catalog.by_slug[s] for s in args[1]]
            text = pages.piece(
                catalog, entry, html[entry.id], (feedback or {}).get(entry.id), related
            )
        else:
            text = {
                "home": lambda: pages.home(catalog, *args),
                "term": lambda: pages.term(catalog, *args),
                "author": lambda: pages.author(catalog, *args),
                "feed": lambda: pages.feed(catalog, *args),
                "sitemap": lambda: pages.sitemap(catalog, *args),
                "robots": pages.robots,
                "notfound": pages.not_found,
                "redirect": lambda: pages.redirect(*args),
                "text": lambda: args[0],
            }[spec.kind]()
        assert text is not None, spec
        return text.encode("utf-8")

    @classmethod
    def make_in_worker(cls, specs: list[Spec]) -> list[tuple[str, list[str]]]:
        assert cls.current is not None
        return cls.current.make(specs)


def export_site(
    engine: Engine,
    settings: Settings,
    out: Path,
    *,
    base_url: str | None = None,
    full: bool = False,
    workers: int = 0,
    on_total: Progress | None = None,
    on_advance: Progress | None = None,
) -> ExportReport:
    """Export every public page to `out`, rewriting only files whose inputs changed;
    `on_total` hears how many files will be written, `on_advance` how many more are done."""
    base_url = base_url or settings.base_url
    try:
        check_base_url(base_url)
    except ValueError as exc:
        raise ExportError(f"cannot export for the site address: {exc}") from None
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    if out.exists() and not out.is_dir():
        raise ExportError(f"'{out}' is a file; export into a folder, new or already exported to")
    taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    pages = Pages(Renderer(settings, base_url, auto_reload=False), taxonomy, settings.page_size)
    common = _hash(
        EXPORT_VERSION,
        RENDER_VERSION,
        site.SITEMAP_SIZE,
        base_url,
        settings.site_title,
        pages.per_page,
        taxonomy.terms_fingerprint,
        theme_fingerprint(settings),
        api_base(settings),
        settings.comment_moderation,
    )
    out.mkdir(parents=True, exist_ok=True)
    old = Manifest.read(out)
    with Session(engine) as session:
        at = clock.now()
        feedback = fingerprints(session)
        stamp = [
            common,
            str(change_key(session, at)),  # the public pieces: a draft's edit changes nothing
            str(next_change(session, at)),
            _hash(sorted(feedback.items())),
        ]
        if not full and old.stamp == stamp and old.complete(out):
            return ExportReport(
                unchanged=len(old.files),
                files=len(old.files),
                errors=old.errors,
                broken_links=old.broken_links,
            )
        catalog = load_catalog(session, at)
    saved = old.related.get("lists", {})
    # Ranking related pieces is most of planning; an edit seldom changes it.
    adopted = not full and catalog.adopt_ranking(old.related.get("key", ""), saved)
    planner = Planner(catalog, pages, settings, common, feedback)
    writer = Writer(out)
    specs: list[Spec] = []
    stale: list[Spec] = []

    def stale_groups() -> Iterator[list[Spec]]:
        for group in planner.groups():
            for spec in group:
                writer.reserve(spec.path)
            specs.extend(group)
            fresh = [s for s in group if full or not old.current(out, s.path, s.fingerprint)]
            stale.extend(fresh)
            yield fresh

    def planned() -> None:
        if on_total:
            on_total(len(stale))

    manifest = Manifest(stamp)
    links: dict[str, str] = {}  # path -> its links, coded by the manifest's table
    if not full:  # unchanged files keep their links as the last export coded them
        manifest.links = old.links
        links = {path: entry[1] for path, entry in old.files.items()}
    maker, reported = Maker(engine, catalog, pages, writer.out, settings, feedback.keys()), 0
    for done, (path, found) in enumerate(_make_all(maker, stale_groups(), workers, planned), 1):
        links[path] = manifest.encode(found)
        if on_advance and (done - reported == CHUNK or done == len(stale)):
            on_advance(done - reported)
            reported = done
    commit(writer.out)
    manifest.errors = planner.errors
    manifest.related = {
        "key": catalog.ranking_key,
        "lists": saved if adopted else catalog.ranking(),
    }
    manifest.files = {s.path: [s.fingerprint, links[s.path]] for s in specs}
    manifest.finish(writer.paths)
    report = ExportReport(
        written=len(stale),
        unchanged=len(specs) - len(stale),
        files=len(specs),
        removed=remove_stale(writer.out, set(old.files) - writer.paths),
        errors=manifest.errors,
        broken_links=manifest.broken_links,
    )
    manifest.write(writer.out)
    return report


def _folders(paths: Iterable[str]) -> set[str]:
    """Every folder that holds one of `paths`."""
    found: set[str] = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder and folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    return found


def _make_all(
    maker: Maker, groups: Iterable[list[Spec]], workers: int, planned: Callable[[], None]
) -> Iterable[tuple[str, list[str]]]:
    """Render and stage each group of specs; on any failure, in planning as in rendering, the
    staging folder is removed and OUT is left untouched."""
    try:
        yield from _make_staged(maker, iter(groups), workers, planned)
    except BaseException:
        shutil.rmtree(maker.files.out, ignore_errors=True)
        raise


def _make_staged(
    maker: Maker, groups: Iterator[list[Spec]], workers: int, planned: Callable[[], None]
) -> Iterable[tuple[str, list[str]]]:
    """Groups are planned one by one. Once PARALLEL_FROM specs are waiting, worker processes
    are forked and start on them while the rest is planned; below that, one process makes
    everything. `planned` is called once every group is planned, before the first file is
    reported made."""
    count = workers or os.cpu_count() or 1
    waiting: list[Spec] = []
    for group in groups:
        waiting += group
        if count >= 2 and len(waiting) >= PARALLEL_FROM:
            break
    else:
        planned()
        for chunk in _chunks(waiting):
            yield from maker.make(chunk)
        return
    Maker.current = maker
    maker.engine.dispose()  # the parent closes its connections; no child may inherit them
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(count, mp_context=context, initializer=_fresh_connections) as pool:
            try:
                # The first submission forks every worker; the parent plans the rest meanwhile.
                futures = [pool.submit(Maker.make_in_worker, c) for c in _chunks(waiting)]
                for group in groups:
                    futures += [pool.submit(Maker.make_in_worker, c) for c in _chunks(group)]
                planned()
                for future in futures:
                    yield from future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)  # what has not started never will
                raise
    finally:
        Maker.current = None


def _chunks(specs: list[Spec]) -> list[list[Spec]]:
    return [specs[i : i + CHUNK] for i in range(0, len(specs), CHUNK)]


def _fresh_connections() -> None:
    """A forked worker must open its own database connections, never share the parent's."""
    assert Maker.current is not None
    Maker.current.engine.dispose(close=False)
