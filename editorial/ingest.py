"""Content directory -> store: incremental, transactional per batch, parallel where it pays."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlmodel import col

from editorial import clock
from editorial.db import session_scope
from editorial.markdown import RENDER_VERSION
from editorial.models import Piece, PieceTerm, Revision, Status, StoreState
from editorial.source import InvalidSource, PieceData, SourceError, parse_source
from editorial.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

TAXONOMY_FILE = "taxonomy.yaml"
BATCH = 500
RACY_NS = 2_000_000_000  # a file modified this close to the run is always hashed
PARALLEL_FROM = 200  # below this many changed files a process pool costs more than it saves
FINGERPRINT_KEY = "ingest.fingerprint"
INVALID_KEY = "ingest.invalid"  # files that failed the last run: read again until they pass
PIECE = Piece.__table__  # type: ignore[attr-defined]
TERM = PieceTerm.__table__  # type: ignore[attr-defined]
REVISION = Revision.__table__  # type: ignore[attr-defined]


@dataclass
class IngestReport:
    """What one run did; `as_json()` is the CLI's `--json` contract."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    # Files changed on disk while their piece also changed through the service: both kept.
    conflicts: list[dict[str, str]] = field(default_factory=list)

    def fail(self, path: str, error: SourceError) -> None:
        self.errors.append({"path": path, "message": error.describe()})

    def as_json(self) -> dict[str, Any]:
        """The summary; `conflicts` appears only when there are any."""
        summary = asdict(self)
        if not self.conflicts:
            del summary["conflicts"]
        return summary


@dataclass
class _Known:
    """A stored piece that came from a file."""

    id: int
    slug: str
    path: str | None
    hash: str | None
    version: int
    missing: bool
    stat: str | None = None
    synced: int | None = None  # the version last in step with the file

    def made_from(self, digest: str | None) -> bool:
        """Whether the piece in the store came from these bytes (None: size and time unchanged)."""
        return bool(self.hash) and not self.missing and digest in (None, self.hash)


Progress = Callable[[int], None]


def ingest(
    engine: Engine,
    content_dir: Path,
    *,
    workers: int = 0,
    on_total: Progress | None = None,
    on_advance: Progress | None = None,
) -> IngestReport:
    """Bring the store in line with `content_dir`; bad files are reported, never fatal."""
    taxonomy = load_taxonomy(content_dir / TAXONOMY_FILE)
    report = IngestReport()
    files = scan(content_dir)
    known = _load_known(engine)
    stored = _stored_state(engine)
    changed = _changed(engine, content_dir, files, known, _fingerprint(taxonomy), stored, report)
    if on_total:
        on_total(len(changed))
    writer = _Writer(engine, known, set(files), report)
    for batch in _batched(_parse_all(content_dir, changed, taxonomy, workers), BATCH):
        writer.write(batch)
        if on_advance:
            on_advance(len(batch))
    writer.mark_removed()
    invalid = json.dumps(sorted({error["path"] for error in report.errors}))
    state = {FINGERPRINT_KEY: _fingerprint(taxonomy), INVALID_KEY: invalid}
    _store_state(engine, {k: v for k, v in state.items() if stored.get(k) != v})
    return report


def _changed(
    engine: Engine,
    content_dir: Path,
    files: list[str],
    known: dict[str, _Known],
    fingerprint: str,
    stored: dict[str, str],
    report: IngestReport,
) -> list[str]:
    """The files to parse: new, edited, restored, or invalid last time; every file when the
    taxonomy or the renderer changed. The others are counted unchanged."""
    by_path = {k.path: k for k in known.values() if k.path}
    stale = fingerprint != stored.get(FINGERPRINT_KEY)
    retry = set(json.loads(stored.get(INVALID_KEY) or "[]"))
    changed: list[str] = []
    restamped: list[dict[str, Any]] = []
    for rel, stat, digest in _fingerprint_files(content_dir, files, by_path, report):
        old = by_path.get(rel)
        if old is None or stale or rel in retry or not old.made_from(digest):
            changed.append(rel)
            continue
        report.unchanged += 1
        if digest is not None:  # same bytes, new timestamp: remember it, skip hashing next time
            restamped.append({"b_id": old.id, "source_stat": stat})
    _restamp(engine, restamped)
    return changed


def scan(content_dir: Path) -> list[str]:
    """Every `*.md` below `content_dir` (POSIX paths, sorted); names starting `_` or `.` skipped."""
    found = []
    root_length = len(str(content_dir)) + 1
    for root, dirs, names in os.walk(content_dir):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        prefix = root[root_length:].replace(os.sep, "/")
        prefix = prefix + "/" if prefix else ""
        found += [prefix + n for n in names if n.endswith(".md") and not n.startswith(("_", "."))]
    return sorted(found)


def _fingerprint_files(
    content_dir: Path, files: list[str], by_path: dict[str, _Known], report: IngestReport
) -> Iterator[tuple[str, str | None, str | None]]:
    """Each file's stat stamp and content hash. A new file, or one whose size and modification
    time match what was stored, is not read here (digest None): a new one is parsed anyway. The
    others are read and hashed, and their bytes dropped (workers read them again)."""
    started = time.time_ns()
    root = f"{content_dir}{os.sep}"
    for rel in files:
        path = root + rel
        try:
            stat = _stat_stamp(path, started)
            old = by_path.get(rel)
            if old is None or (stat is not None and old.stat == stat):
                yield rel, stat, None
            else:
                with open(path, "rb") as file:
                    yield rel, stat, _digest(file.read())
        except OSError as exc:
            report.fail(rel, SourceError(f"cannot read the file ({exc.strerror})"))


def _stat_stamp(path: str | Path, started_ns: int) -> str | None:
    """Size and modification time, or None when the file changed too recently to trust them
    (a write in the same clock tick as our read would otherwise go unnoticed)."""
    stat = os.stat(path)
    if stat.st_mtime_ns > started_ns - RACY_NS:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _restamp(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as connection:
            statement = update(PIECE).where(PIECE.c.id == bindparam("b_id"))
            connection.execute(statement, rows)


def _digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


Parsed = tuple[str, str, str | None, PieceData | list[SourceError]]  # path, hash, stat, result


class _Parser:
    """Reads, validates and renders one file; an instance lives in each worker process."""

    current: _Parser | None = None

    def __init__(self, content_dir: Path, taxonomy: Taxonomy) -> None:
        self.content_dir = content_dir
        self.taxonomy = taxonomy

    @classmethod
    def install(cls, content_dir: Path, taxonomy: Taxonomy) -> None:
        cls.current = cls(content_dir, taxonomy)

    @classmethod
    def parse(cls, rel: str) -> Parsed:
        assert cls.current is not None
        return cls.current(rel)

    def __call__(self, rel: str) -> Parsed:
        path = self.content_dir / rel
        try:
            stat = _stat_stamp(path, time.time_ns())
            raw = path.read_bytes()
        except OSError as exc:
            return rel, "", None, [SourceError(f"cannot read the file ({exc.strerror})")]
        try:
            return rel, _digest(raw), stat, parse_source(rel, raw, self.taxonomy)
        except InvalidSource as exc:
            return rel, _digest(raw), stat, exc.errors


def _parse_all(
    content_dir: Path, changed: list[str], taxonomy: Taxonomy, workers: int
) -> Iterator[Parsed]:
    """Parse and render in a process pool when there is enough work to share."""
    count = workers or os.cpu_count() or 1
    if count < 2 or len(changed) < PARALLEL_FROM:
        yield from map(_Parser(content_dir, taxonomy), changed)
        return
    size = BATCH * count
    rounds = [changed[start : start + size] for start in range(0, len(changed), size)]
    with ProcessPoolExecutor(
        count, initializer=_Parser.install, initargs=(content_dir, taxonomy)
    ) as pool:
        # One round is always queued behind the one being written, so that the workers go on
        # parsing while this process stores their results; at most two rounds are in memory.
        current = pool.map(_Parser.parse, rounds[0], chunksize=32)
        for following in rounds[1:]:
            queued = pool.map(_Parser.parse, following, chunksize=32)
            yield from current
            current = queued
        yield from current


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _load_known(engine: Engine) -> dict[str, _Known]:
    columns = (
        PIECE.c.id,
        PIECE.c.slug,
        PIECE.c.source_path,
        PIECE.c.source_hash,
        PIECE.c.version,
        PIECE.c.missing_since.is_not(None),
        PIECE.c.source_stat,
        PIECE.c.synced_version,
    )
    with engine.connect() as connection:
        rows = connection.execute(select(*columns)).all()
    return {row[1]: _Known(*row) for row in rows}


def _fingerprint(taxonomy: Taxonomy) -> str:
    return f"render={RENDER_VERSION};taxonomy={taxonomy.fingerprint}"


def _stored_state(engine: Engine) -> dict[str, str]:
    """What the last run recorded: the render and taxonomy fingerprint, the files that failed."""
    query = select(StoreState.key, StoreState.value).where(
        col(StoreState.key).in_((FINGERPRINT_KEY, INVALID_KEY))
    )
    with engine.connect() as connection:
        return {key: value for key, value in connection.execute(query)}


def _store_state(engine: Engine, values: dict[str, str]) -> None:
    """Record `values`; nothing to record writes nothing (no transaction)."""
    if values:
        with session_scope(engine) as session:
            for key, value in values.items():
                session.merge(StoreState(key=key, value=value))


class _Writer:
    """Decides what each parsed file means for the store and writes it, one batch a transaction."""

    def __init__(
        self, engine: Engine, known: dict[str, _Known], present: set[str], report: IngestReport
    ) -> None:
        self.engine = engine
        self.known = known
        self.present = present
        self.report = report
        self.by_path = {k.path: k for k in known.values() if k.path}
        self.claimed: dict[str, str] = {}  # slug -> file that took it in this run
        self.conflicted: list[tuple[str, str, PieceData, _Known]] = []
        self.stats: dict[str, str | None] = {}  # path -> size:mtime stamp read before parsing

    def write(self, batch: list[tuple[str, str, PieceData | list[SourceError]]]) -> None:
        inserts, updates = [], []
        for rel, digest, stat, parsed in batch:
            self.stats[rel] = stat
            if isinstance(parsed, list):
                for error in parsed:
                    self.report.fail(rel, error)
                continue
            target = self._target(rel, parsed)
            if target and self._diverged(rel, digest, parsed, target):
                continue
            if target is False:
                continue
            (updates if target else inserts).append((rel, digest, parsed, target))
        stamp = clock.now()
        with self.engine.begin() as connection:
            self._keep_both(connection, stamp)
            inserted = self._insert(connection, inserts, stamp)
            revised = self._update(connection, updates, stamp)
            self._terms_and_revisions(connection, inserted + updates, inserted + revised, stamp)
        self.report.added += len(inserts)
        self.report.updated += len(updates)

    def _target(self, rel: str, data: PieceData) -> _Known | bool | None:
        """The stored piece this file updates, None for a new one, False when the slug clashes."""
        if data.slug in self.claimed:
            self._clash(rel, data.slug, f"'{self.claimed[data.slug]}'")
            return False
        self.claimed[data.slug] = rel
        own = self.by_path.get(rel)
        holder = self.known.get(data.slug)
        if holder is None or holder is own:
            return own
        if holder.path is None:
            self._clash(rel, data.slug, "a piece created in the editor (not from a file)")
        elif holder.path in self.present:
            self._clash(rel, data.slug, f"'{holder.path}'")
        else:
            return holder if own is None else self._clash(rel, data.slug, f"'{holder.path}'")
        return False

    def _clash(self, rel: str, slug: str, other: str) -> bool:
        self.claimed.setdefault(slug, rel)
        self.report.fail(
            rel,
            SourceError(
                f"duplicate slug '{slug}': also used by {other}; give one of them another 'slug:'",
                field="slug",
            ),
        )
        return False

    def _insert(self, connection: Any, items: list, stamp: Any) -> list:
        if not items:
            return []
        rows = [
            _row(rel, digest, data, stamp)
            | {"version": 1, "synced_version": 1, "created_at": stamp}
            | {"source_stat": self.stats.get(rel)}
            for rel, digest, data, _ in items
        ]
        # Matched by slug (unique) rather than by order: asking for the rows' order makes
        # SQLite insert them one statement at a time.
        statement = insert(PIECE).returning(PIECE.c.slug, PIECE.c.id)
        ids = {slug: id_ for slug, id_ in connection.execute(statement, rows)}
        return [
            (rel, digest, data, _Known(ids[data.slug], data.slug, rel, digest, 1, False))
            for rel, digest, data, _ in items
        ]

    def _update(self, connection: Any, items: list, stamp: Any) -> list:
        """Rewrite the pieces; returns those that changed (a new version), as opposed to those
        only re-validated after a taxonomy or renderer change."""
        if not items:
            return []
        rows, revised = [], []
        for rel, digest, data, target in items:
            if target.slug != data.slug:
                del self.known[target.slug]
            if target.missing or (target.path, target.hash) != (rel, digest):
                target.version += 1
                revised.append((rel, digest, data, target))
            target.slug, target.path, target.hash, target.missing = data.slug, rel, digest, False
            rows.append(
                _row(rel, digest, data, stamp)
                | {"b_id": target.id, "version": target.version, "synced_version": target.version}
                | {"source_stat": self.stats.get(rel)}
            )
        statement = update(PIECE).where(PIECE.c.id == bindparam("b_id"))
        connection.execute(statement, rows)
        ids = [target.id for *_, target in items]
        connection.execute(delete(TERM).where(TERM.c.piece_id.in_(ids)))
        return revised

    def _terms_and_revisions(self, connection: Any, items: list, revised: list, stamp: Any) -> None:
        terms = []
        for _rel, _digest, data, target in items:
            self.known[data.slug] = target
            terms += [{"piece_id": target.id, "dimension": d, "term": t} for d, t in data.terms]
        revisions = [
            {
                "piece_id": target.id,
                "number": target.version,
                "created_at": stamp,
                "actor": "ingest",
                "origin": "file",
                "source_hash": digest,
                "title": data.title,
                "front_matter": data.front_matter,
                "body": data.body,
                "note": rel,
            }
            for rel, digest, data, target in revised
        ]
        if terms:
            connection.execute(insert(TERM), terms)
        if revisions:
            connection.execute(insert(REVISION), revisions)

    def _diverged(self, rel: str, digest: str, data: PieceData, target: _Known) -> bool:
        """Whether the piece changed through the service since its file was last read; then
        an unchanged file is left alone and a changed one is kept beside it as a conflict."""
        if target.synced is None or target.synced == target.version:
            return False
        if digest == target.hash and not target.missing:
            self.report.unchanged += 1
        else:
            self.conflicted.append((rel, digest, data, target))
        return True

    def _keep_both(self, connection: Any, stamp: Any) -> None:
        """Store each conflicting file as a revision marked `conflict`; the piece keeps the
        service's content, and the file counts as read (a later edit of it is an update)."""
        for rel, digest, data, target in self.conflicted:
            target.version += 1
            target.synced, target.path, target.hash, target.missing = (
                target.version,
                rel,
                digest,
                False,
            )
            connection.execute(
                update(PIECE)
                .where(PIECE.c.id == target.id)
                .values(
                    version=target.version,
                    synced_version=target.version,
                    source_path=rel,
                    source_hash=digest,
                    source_stat=self.stats.get(rel),
                    missing_since=None,
                    updated_at=stamp,
                )
            )
            connection.execute(
                insert(REVISION).values(
                    piece_id=target.id,
                    number=target.version,
                    created_at=stamp,
                    actor="ingest",
                    origin="file",
                    source_hash=digest,
                    title=data.title,
                    front_matter=data.front_matter,
                    body=data.body,
                    note=f"conflict: {rel} changed on disk and through the service",
                    conflict=True,
                )
            )
            self.report.conflicts.append({"path": rel, "message": _conflict_message(target)})
        self.conflicted.clear()

    def mark_removed(self) -> None:
        """Pieces whose file is gone are archived and flagged missing, never deleted."""
        gone = [
            k
            for k in self.known.values()
            if k.path and k.path not in self.present and not k.missing
        ]
        if not gone:
            return
        stamp = clock.now()
        with session_scope(self.engine) as session:
            for known in gone:
                piece = session.get(Piece, known.id)
                assert piece is not None
                piece.version += 1
                piece.synced_version = piece.version
                piece.status, piece.missing_since, piece.updated_at = Status.ARCHIVED, stamp, stamp
                session.add(piece)
                session.add(
                    Revision(
                        piece_id=piece.id,
                        number=piece.version,
                        created_at=stamp,
                        actor="ingest",
                        origin="file",
                        source_hash=piece.source_hash,
                        title=piece.title,
                        front_matter=piece.front_matter,
                        body=piece.body,
                        note=f"source file {known.path} is missing; piece archived",
                    )
                )
                known.missing = True
        self.report.removed += len(gone)


def _conflict_message(target: _Known) -> str:
    return (
        f"changed on disk and through the service since the last ingest; the service's "
        f"version stays current and the file is kept as revision {target.version} "
        f"(marked conflict): merge the two into the file and ingest again"
    )


def _row(rel: str, digest: str, data: PieceData, stamp: Any) -> dict[str, Any]:
    row = {
        name: getattr(data, name)
        for name in (
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
            "front_matter",
        )
    }
    return row | {
        "source_path": rel,
        "source_hash": digest,
        "missing_since": None,
        "updated_at": stamp,
    }


__all__ = ["IngestReport", "TaxonomyError", "ingest", "scan"]
