"""Content directory -> store: incremental, transactional per batch, parallel where it pays."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, select, update
from sqlmodel import col

from editorial.db import session_scope
from editorial.ingest_store import PIECE, IngestReport, Known, Parsed, StoreWriter
from editorial.markdown import RENDER_VERSION
from editorial.models import StoreState
from editorial.source import InvalidSource, SourceError, parse_source
from editorial.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

TAXONOMY_FILE = "taxonomy.yaml"
BATCH = 500
RACY_NS = 2_000_000_000  # a file modified this close to the run is always hashed
PARALLEL_FROM = 200  # below this many changed files a process pool costs more than it saves
FINGERPRINT_KEY = "ingest.fingerprint"
INVALID_KEY = "ingest.invalid"  # files that failed the last run: read again until they pass
NOT_UTF8_NAME = "the path is not UTF-8 text (each \\x.. is a byte that is not); rename it"


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
    files, unreadable = scan(content_dir, report)
    known = _load_known(engine)
    stored = _stored_state(engine)
    changed = _changed(engine, content_dir, files, known, _fingerprint(taxonomy), stored, report)
    if on_total:
        on_total(len(changed))
    # A piece whose file is in a folder that could not be read may still have it: not archived.
    hidden = {k.path for k in known.values() if k.path and k.path.startswith(tuple(unreadable))}
    writer = StoreWriter(engine, known, set(files) | hidden, report, set(changed))
    for batch in _batched(_parse_all(content_dir, changed, taxonomy, workers), BATCH):
        writer.write(batch)
        if on_advance:
            on_advance(len(batch))
    writer.finish()
    writer.mark_removed()
    invalid = json.dumps(sorted({error["path"] for error in report.errors}))
    state = {FINGERPRINT_KEY: _fingerprint(taxonomy), INVALID_KEY: invalid}
    _store_state(engine, {k: v for k, v in state.items() if stored.get(k) != v})
    return report


def _changed(
    engine: Engine,
    content_dir: Path,
    files: list[str],
    known: dict[str, Known],
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


def scan(content_dir: Path, report: IngestReport) -> tuple[list[str], list[str]]:
    """Every `*.md` below `content_dir` (POSIX paths, sorted; names starting `_` or `.` skipped),
    and the folders that could not be read, as path prefixes ("" for `content_dir` itself); each
    of those is reported. A path that is not UTF-8 is reported instead of listed: the store keeps
    text, and it could not be written there, nor printed."""
    found: list[str] = []
    unreadable: list[str] = []
    root_length = len(str(content_dir)) + 1

    def cannot_read(error: OSError) -> None:
        folder = os.fsdecode(error.filename or content_dir)[root_length:].replace(os.sep, "/")
        unreadable.append(folder + "/" if folder else "")
        why = f"cannot read the folder ({error.strerror}); its pieces are kept as they were"
        report.fail(_printable(folder or "."), SourceError(why))

    for root, dirs, names in os.walk(content_dir, onerror=cannot_read):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        prefix = root[root_length:].replace(os.sep, "/")
        prefix = prefix + "/" if prefix else ""
        found += [prefix + n for n in names if n.endswith(".md") and not n.startswith(("_", "."))]
    unnamed = {rel for rel in found if not _is_text(rel)}
    for rel in sorted(unnamed):
        report.fail(_printable(rel), SourceError(NOT_UTF8_NAME))
    return sorted(set(found) - unnamed), unreadable


def _is_text(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (os gives them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    """The name with each byte that is not UTF-8 written as a backslash escape (\\xff)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _fingerprint_files(
    content_dir: Path, files: list[str], by_path: dict[str, Known], report: IngestReport
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


def _load_known(engine: Engine) -> dict[str, Known]:
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
    return {row[1]: Known(*row) for row in rows}


def _fingerprint(taxonomy: Taxonomy) -> str:
    return f"render={RENDER_VERSION};taxonomy={taxonomy.names_fingerprint}"


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


__all__ = ["IngestReport", "TaxonomyError", "ingest", "scan"]
