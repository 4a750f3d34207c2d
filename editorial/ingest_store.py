"""What ingest writes to the store: the report of a run, the stored pieces that came from files,
and the writer that turns parsed files into rows, one batch a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from editorial import clock
from editorial.db import session_scope, upsert_insert
from editorial.models import Piece, PieceCell, PieceTerm, Revision, Status
from editorial.source import STATUSES, PieceData, SourceError

# What a file gives its piece (besides its terms).
_CONTENT = (
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
PIECE = Piece.__table__  # type: ignore[attr-defined]
TERM = PieceTerm.__table__  # type: ignore[attr-defined]
REVISION = Revision.__table__  # type: ignore[attr-defined]
CELL = PieceCell.__table__  # type: ignore[attr-defined]
_SNAPSHOT = (PIECE.c.status, PIECE.c.title, PIECE.c.front_matter, PIECE.c.body)
_RENAME = update(PIECE).where(PIECE.c.id == bindparam("b_id")).values(slug=bindparam("b_slug"))
Parsed = tuple[str, str, str | None, PieceData | list[SourceError]]  # path, hash, stat, result
# The triggers of migration 0006 that complete a piece's `piececell` rows as its terms arrive,
# and their definitions as the store holds them.
CELL_TRIGGERS = ("piececell_audience_added", "piececell_stage_added", "piececell_topic_added")
_TRIGGERS = text(
    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
).bindparams(bindparam("names", expanding=True))


@cache
def _cells_of_pieces() -> Any:
    """The statement (SQLite's) that inserts every audience x stage x topic cell of the pieces
    `ids`, with the piece's coverage columns: what the triggers of migration 0006 insert as
    their terms arrive."""
    tags = {d: TERM.alias(d) for d in ("audience", "stage", "topic")}
    joined = PIECE
    for dimension, tag in tags.items():
        joined = joined.join(tag, (tag.c.piece_id == PIECE.c.id) & (tag.c.dimension == dimension))
    copied = [c.name for c in CELL.columns if c.name not in (*tags, "piece_id")]
    cells = (
        select(*(t.c.term for t in tags.values()), PIECE.c.id, *(PIECE.c[c] for c in copied))
        .select_from(joined)
        .where(PIECE.c.id.in_(bindparam("ids", expanding=True)))
    )
    statement = upsert_insert("sqlite")(CELL).from_select([*tags, "piece_id", *copied], cells)
    return statement.on_conflict_do_nothing()


# A file read again rewrites its piece; `modified_at` changes only when a moment is given.
_UPDATE = (
    update(PIECE)
    .where(PIECE.c.id == bindparam("b_id"))
    .values(
        modified_at=func.coalesce(
            bindparam("b_modified", type_=PIECE.c.modified_at.type), PIECE.c.modified_at
        )
    )
)


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
class Known:
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


class StoreWriter:
    """Decides what each parsed file means for the store and writes it, one batch a transaction."""

    def __init__(
        self,
        engine: Engine,
        known: dict[str, Known],
        present: set[str],
        report: IngestReport,
        parsing: set[str] | None = None,
    ) -> None:
        self.engine = engine
        self.known = known
        self.present = present
        self.report = report
        self.parsing = parsing or set()  # the files read this run: their slugs may change
        self.settled: set[str] = set()  # files read and decided
        self.waiting: list[Parsed] = []  # files wanting a slug whose file is not yet decided
        self.by_path = {k.path: k for k in known.values() if k.path}
        self.claimed: dict[str, str] = {}  # slug -> file that took it in this run
        self.conflicted: list[tuple[str, str, PieceData, Known]] = []
        self.returned: list[tuple[str, Known]] = []  # unchanged files moved or back from missing
        self.stats: dict[str, str | None] = {}  # path -> size:mtime stamp read before parsing

    def write(self, batch: list[Parsed], releasing: frozenset[str] | None = None) -> None:
        """Store a batch of parsed files; a file wanting a slug held by a piece whose file is
        still to be read waits for `finish` (which passes `releasing`), as that file may give
        the slug up."""
        inserts, updates = [], []
        for rel, digest, stat, parsed in batch:
            self.stats[rel] = stat
            waits = releasing is None and not isinstance(parsed, list)
            if waits and self._must_wait(rel, parsed):
                self.waiting.append((rel, digest, stat, parsed))
                continue
            self.settled.add(rel)
            if isinstance(parsed, list):
                for error in parsed:
                    self.report.fail(rel, error)
                continue
            target = self._target(rel, parsed, releasing or frozenset())
            if target and self._diverged(rel, digest, parsed, target):
                continue
            if target is False:
                continue
            (updates if target else inserts).append((rel, digest, parsed, target))
        stamp = clock.now()
        with self.engine.begin() as connection, _unspilled(connection):
            updates = self._drop_unchanged(connection, updates)
            self._keep_both(connection, stamp)
            self._bring_back(connection, stamp)
            revised = self._update(connection, updates, stamp)  # first: it frees slugs
            inserted = self._insert(connection, inserts, stamp)
            self._terms_and_revisions(connection, inserted + updates, inserted + revised, stamp)
        self.report.added += len(inserts)
        self.report.updated += len(updates)

    def finish(self) -> None:
        """Decide the files that waited, together and in one transaction: a slug held by a
        piece whose file now claims another is free to take (two files may swap slugs); a file
        that keeps its slug keeps it against a newcomer."""
        waiting, self.waiting = sorted(self.waiting, key=lambda item: item[0]), []
        refused: dict[str, str] = {}
        while True:  # refusing one file may keep its piece's slug taken: until nothing changes
            releasing = self._releasing(waiting, refused)
            claimed = dict(self.claimed)
            for rel, _digest, _stat, data in waiting:
                if rel not in refused:
                    _, other = self._claim(rel, data.slug, releasing, claimed)
                    if other is None:
                        claimed[data.slug] = rel
                    else:
                        refused[rel] = other
            if releasing == self._releasing(waiting, refused):
                break
        for rel, _digest, _stat, data in waiting:
            if rel in refused:
                self.settled.add(rel)
                self._clash(rel, data.slug, refused[rel])
        accepted = [item for item in waiting if item[0] not in refused]
        if accepted:
            self.write(accepted, self._releasing(waiting, refused))

    def _must_wait(self, rel: str, data: PieceData) -> bool:
        holder = self.known.get(data.slug)
        return (
            holder is not None
            and holder.path not in (None, rel)
            and holder.path in self.parsing
            and holder.path not in self.settled
        )

    def _releasing(self, waiting: list[Parsed], refused: dict[str, str]) -> frozenset[str]:
        """The waiting files that take a slug other than their piece's, freeing that one (not
        a piece changed through the service: it keeps its slug, the file becomes a conflict)."""
        return frozenset(
            rel
            for rel, _digest, _stat, data in waiting
            if rel not in refused
            and (own := self.by_path.get(rel))
            and own.slug != data.slug
            and own.synced in (None, own.version)
        )

    def _target(
        self, rel: str, data: PieceData, releasing: frozenset[str] = frozenset()
    ) -> Known | bool | None:
        """The stored piece this file updates, None for a new one, False when the slug clashes."""
        target, other = self._claim(rel, data.slug, releasing, self.claimed)
        if other is not None:
            return self._clash(rel, data.slug, other)
        self.claimed[data.slug] = rel
        return target

    def _claim(
        self, rel: str, slug: str, releasing: frozenset[str], claimed: dict[str, str]
    ) -> tuple[Known | None, str | None]:
        """The piece `rel` would write with `slug` (None: a new one), or who else holds it.
        `releasing`: files whose pieces give their slugs up in the same transaction."""
        own = self.by_path.get(rel)
        holder = self.known.get(slug)
        if slug in claimed:
            return None, f"'{claimed[slug]}'"
        if holder is None or holder is own or holder.path in releasing:
            return own, None
        if holder.path is None:
            return None, "a piece created in the editor (not from a file)"
        if holder.path in self.present or own is not None:
            return None, f"'{holder.path}'"
        return holder, None  # its file is gone: this file is now the piece's

    def _clash(self, rel: str, slug: str, other: str) -> bool:
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
            | {"source_stat": self.stats.get(rel), "modified_at": data.modified}
            for rel, digest, data, _ in items
        ]
        # Matched by slug (unique) rather than by order: asking for the rows' order makes
        # SQLite insert them one statement at a time.
        statement = insert(PIECE).returning(PIECE.c.slug, PIECE.c.id)
        ids = {slug: id_ for slug, id_ in connection.execute(statement, rows)}
        return [
            (rel, digest, data, Known(ids[data.slug], data.slug, rel, digest, 1, False))
            for rel, digest, data, _ in items
        ]

    def _drop_unchanged(self, connection: Any, items: list) -> list:
        """The updates less the files read again with the same bytes at the same path (after a
        taxonomy or renderer change) that leave their piece as it is: those are counted
        unchanged and not written, so that their pieces, and the pages that show them, keep
        their moment of change."""
        again = {
            target.id: data
            for rel, digest, data, target in items
            if target.made_from(digest) and target.path == rel
        }
        if not again:
            return items
        columns = [PIECE.c[name] for name in _CONTENT]
        rows = connection.execute(select(PIECE.c.id, *columns).where(PIECE.c.id.in_(again)))
        stored = {row.id: _content(row) for row in rows}
        terms: dict[int, set[tuple[str, str]]] = {piece_id: set() for piece_id in again}
        tagged = select(TERM.c.piece_id, TERM.c.dimension, TERM.c.term)
        for piece_id, dimension, term in connection.execute(
            tagged.where(TERM.c.piece_id.in_(again))
        ):
            terms[piece_id].add((dimension, term))
        same = {
            piece_id
            for piece_id, data in again.items()
            if stored[piece_id] == _content(data) and terms[piece_id] == set(data.terms)
        }
        self.report.unchanged += len(same)
        return [item for item in items if item[3].id not in same]

    def _update(self, connection: Any, items: list, stamp: Any) -> list:
        """Rewrite the pieces; returns those that changed (a new version), as opposed to those
        only re-validated after a taxonomy or renderer change."""
        if not items:
            return []
        renamed = [{"b_id": t.id, "b_slug": f"~{t.id}"} for _, _, d, t in items if t.slug != d.slug]
        if renamed:  # out of each other's way first: two pieces may swap slugs
            connection.execute(_RENAME, renamed)
        rows, revised = [], []
        for rel, digest, data, target in items:
            if target.slug != data.slug:
                del self.known[target.slug]
            # New bytes are a change readers see; a moved or restored file, or one read again
            # after a taxonomy change, keeps the moment of its last change.
            modified = data.modified or (stamp if digest != target.hash else None)
            if target.missing or (target.path, target.hash) != (rel, digest):
                target.version += 1
                revised.append((rel, digest, data, target))
            target.slug, target.path, target.hash, target.missing = data.slug, rel, digest, False
            rows.append(
                _row(rel, digest, data, stamp)
                | {"b_id": target.id, "version": target.version, "synced_version": target.version}
                | {"source_stat": self.stats.get(rel), "b_modified": modified}
            )
        connection.execute(_UPDATE, rows)
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
            # One dimension after another: where the triggers that keep `piececell` run, they
            # find a piece's terms of the other dimensions missing, and stop early, until the
            # last dimension completes its cells (25% faster than in the order written).
            terms.sort(key=lambda row: (row["dimension"], row["term"], row["piece_id"]))
            with _cells_in_bulk(connection, [target.id for *_, target in items]):
                connection.execute(insert(TERM), terms)
        if revisions:
            connection.execute(insert(REVISION), revisions)

    def _diverged(self, rel: str, digest: str, data: PieceData, target: Known) -> bool:
        """Whether the piece changed through the service since its file was last read; then
        an unchanged file is left alone (one that moved, or came back after going missing, takes
        its piece along with the service's content) and a changed one is kept beside it as a
        conflict."""
        if target.synced is None or target.synced == target.version:
            return False
        if digest != target.hash:
            self.conflicted.append((rel, digest, data, target))
        elif target.missing or target.path != rel:
            self.returned.append((rel, target))
        else:
            self.report.unchanged += 1
        return True

    def _keep_both(self, connection: Any, stamp: Any) -> None:
        """Store each conflicting file as a revision marked `conflict`; the piece keeps the
        service's content, and the file counts as read (a later edit of it is an update)."""
        for rel, digest, data, target in self.conflicted:
            self._follow(
                connection,
                target,
                rel,
                stamp,
                {"synced_version": target.version + 1, "source_hash": digest},
                source_hash=digest,
                title=data.title,
                front_matter=data.front_matter,
                body=data.body,
                note=f"conflict: {rel} changed on disk and through the service",
                conflict=True,
            )
            target.synced, target.hash = target.version, digest
            self.report.conflicts.append({"path": rel, "message": _conflict_message(target)})
        self.conflicted.clear()

    def _bring_back(self, connection: Any, stamp: Any) -> None:
        """Follow each file that moved, or came back, with the bytes last read: the piece keeps
        the service's content and records the file's path."""
        for rel, target in self.returned:
            what = "is back" if target.missing else f"moved from {target.path}"
            row = connection.execute(select(*_SNAPSHOT).where(PIECE.c.id == target.id)).one()
            self._follow(
                connection,
                target,
                rel,
                stamp,
                {"status": _status_back(row) if target.missing else row.status},
                source_hash=target.hash,
                title=row.title,
                front_matter=row.front_matter,
                body=row.body,
                note=f"source file {rel} {what} unchanged; the service's changes are kept",
            )
        self.report.updated += len(self.returned)
        self.returned.clear()

    def _follow(
        self,
        connection: Any,
        target: Known,
        rel: str,
        stamp: Any,
        piece: dict[str, Any],
        **revision: Any,
    ) -> None:
        """A new version of `target` that keeps the service's content but records its file at
        `rel` (present again), with `piece`'s values, and a revision made of `revision`."""
        target.version += 1
        connection.execute(
            update(PIECE)
            .where(PIECE.c.id == target.id)
            .values(
                version=target.version,
                source_path=rel,
                source_stat=self.stats.get(rel),
                missing_since=None,
                updated_at=stamp,
                **piece,
            )
        )
        connection.execute(
            insert(REVISION).values(
                piece_id=target.id,
                number=target.version,
                created_at=stamp,
                actor="ingest",
                origin="file",
                **revision,
            )
        )
        target.path, target.missing = rel, False

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
                in_step = piece.synced_version == piece.version
                piece.version += 1
                if in_step:  # else a service change is still unsynced: a file back must not undo it
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


def _status_back(row: Any) -> str:
    """The status a piece archived for its missing file had before: the service's snapshot of
    it (every change through the service records one) still holds it."""
    before = (row.front_matter or {}).get("status")
    return before if row.status == Status.ARCHIVED and before in STATUSES else row.status


@contextmanager
def _unspilled(connection: Any) -> Iterator[None]:
    """SQLite keeps the batch's changed pages in memory until the commit writes them (about
    15 MB for 500 pieces), instead of writing them out whenever its 2 MB page cache fills and
    reading them back: a cold ingest of 10,000 pieces took 0.5-1 s of CPU less in the writing
    process, for 15-25 MB more memory. Only for the batch: other writers keep the default."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA cache_spill=OFF")
    try:
        yield
    finally:
        with suppress(SQLAlchemyError):  # a failed batch's own error is the one to report
            connection.exec_driver_sql("PRAGMA cache_spill=ON")


@contextmanager
def _cells_in_bulk(connection: Any, ids: list[int]) -> Iterator[None]:
    """On SQLite, the terms written inside make the `piececell` rows of pieces `ids` in one
    statement afterwards, rather than through the row triggers: the mere presence of an insert
    trigger made inserting the 60,000 terms of a 10,000-piece corpus take 1.2-1.5 s where it
    takes 0.6-0.7 s without, and the triggers' joins took 0.8 s more where one statement takes
    0.4 s. The triggers are dropped and created again from the store's own definitions, all in
    the writer's transaction (SQLite's DDL is transactional): no other session ever sees the
    store without them, and no other writer can write terms meanwhile, SQLite having one writer
    at a time. PostgreSQL keeps its row triggers."""
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name != "sqlite" or not dbapi.in_transaction:
        yield  # outside a transaction, DDL would take effect at once: the triggers do it
        return
    found = connection.execute(_TRIGGERS, {"names": list(CELL_TRIGGERS)})
    definitions = found.scalars().all()
    for name in CELL_TRIGGERS:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    yield
    connection.execute(_cells_of_pieces(), {"ids": ids})
    for definition in definitions:
        connection.exec_driver_sql(definition)


def _conflict_message(target: Known) -> str:
    return (
        f"changed on disk and through the service since the last ingest; the service's "
        f"version stays current and the file is kept as revision {target.version} "
        f"(marked conflict): merge the two into the file and ingest again"
    )


def _content(piece: Any) -> tuple:
    """What a file gives its piece, from parsed data or a stored row, comparable (the store
    gives moments without their zone, in UTC)."""
    values = (getattr(piece, name) for name in _CONTENT)
    return tuple(clock.to_utc(v) if isinstance(v, datetime) else v for v in values)


def _row(rel: str, digest: str, data: PieceData, stamp: Any) -> dict[str, Any]:
    row = {name: getattr(data, name) for name in _CONTENT}
    return row | {
        "source_path": rel,
        "source_hash": digest,
        "missing_since": None,
        "updated_at": stamp,
    }
