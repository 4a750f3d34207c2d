"""Backup and restore: the whole store as one JSON Lines file, streamed both ways.

The format (version 1), one JSON object per line:

1. a header: `{"format": "editorial-dump", "version": 1, "revision": "<alembic revision>",
   "tables": ["piece", ...]}` naming the tables in the order their rows follow;
2. one line per row: `{"table": "<name>", "row": {"<column>": value, ...}}`, tables in
   foreign-key order, rows in primary-key order (byte order for text keys), columns in
   table order; datetimes are ISO 8601 in UTC with an offset (`2026-06-01T12:00:00+00:00`),
   dates ISO 8601, JSON columns nested as JSON;
3. a trailer: `{"end": {"<table>": row count, ...}}`; a file without it was cut short and is
   refused.

Derived tables (`piececell`) are left out: the store's triggers rebuild them as rows are restored.

The same store always dumps to the same bytes, whichever database holds it."""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Date, DateTime, Engine, MetaData, Table, func, insert, select
from sqlalchemy import String as SAString
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel

from editorial.db import HEAD, alembic_config, current_revision, known_revisions
from editorial.wholefile import replacing

FORMAT = "editorial-dump"
VERSION = 1
BATCH = 500


class BackupError(Exception):
    """A dump that cannot be written or a file that cannot be restored, with what to do."""


def _tables() -> list[Table]:
    """The tables a dump holds: all but derived ones, which the store rebuilds itself."""
    import editorial.models  # noqa: F401 - registers every table on the metadata

    return [t for t in SQLModel.metadata.sorted_tables if not t.info.get("derived")]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} value into a dump")


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_encode) + "\n"


def _key_order(connection: Connection, table: Table) -> list[Any]:
    """Primary-key order; text keys in byte order on every database, so dumps compare equal."""
    keys: list[Any] = []
    for column in table.primary_key.columns:
        text_key = isinstance(column.type, SAString)
        keys.append(column.collate("C") if text_key and _postgres(connection) else column)
    return keys


def _postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent state of the store for all its reads."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection
        return
    with engine.connect() as connection:
        # pysqlite opens transactions only for writes; a read snapshot needs an explicit BEGIN.
        connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


def dump(engine: Engine, out: IO[str]) -> dict[str, int]:
    """Write every row of the store to `out`; returns the row count of each table."""
    revision = current_revision(engine)
    if revision != HEAD:
        raise BackupError(
            f"the store is at revision {revision or 'none'}, not {HEAD}: "
            "run 'editorial db upgrade' first"
        )
    tables = _tables()
    counts: dict[str, int] = {}
    names = [t.name for t in tables]
    out.write(_line({"format": FORMAT, "version": VERSION, "revision": revision, "tables": names}))
    with _snapshot(engine) as connection:
        for table in tables:
            counts[table.name] = 0
            query = select(table).order_by(*_key_order(connection, table))
            rows = connection.execution_options(stream_results=True, yield_per=BATCH)
            for row in rows.execute(query).mappings():
                out.write(_line({"table": table.name, "row": dict(row)}))
                counts[table.name] += 1
    out.write(_line({"end": counts}))
    return counts


def check_dump_path(path: Path, engine: Engine) -> None:
    """Refuse a place the dump cannot or must not go: a folder, or the SQLite store's own
    files, which the finished dump would replace."""
    if path.is_dir():
        raise BackupError(
            f"{path} is a folder: give the dump a file name, such as {path / 'store.jsonl.gz'}"
        )
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        store = Path(database).resolve()
        own = {store.with_name(store.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")}
        if path.resolve() in own:
            raise BackupError(
                f"{path} is a file of the store itself, which the dump would replace: give the "
                "dump another name, such as store.jsonl.gz"
            )


@contextmanager
def dump_file(path: Path) -> Iterator[IO[str]]:
    """A text stream that becomes `path` only once complete (gzip when it ends in `.gz`)."""
    with replacing(path) as temporary, open(temporary, "wb") as raw:
        packed = gzip.GzipFile("", "wb", fileobj=raw, mtime=0) if path.suffix == ".gz" else raw
        text = io.TextIOWrapper(packed, encoding="utf-8", newline="\n")
        yield text
        text.flush()
        text.detach()
        if packed is not raw:
            packed.close()
        raw.flush()
        os.fsync(raw.fileno())


def read_lines(path: Path) -> Iterator[str]:
    """The lines of a dump file, unpacked when it is gzip; a file that cannot be unpacked or
    is not UTF-8 text is a BackupError."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as lines:  # type: ignore[operator]
            yield from lines
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BackupError(
            f"the gzip file is cut short or damaged ({exc}); nothing restored: "
            "restore a complete copy of the dump"
        ) from None
    except UnicodeDecodeError:
        raise BackupError("this is not an Editorial dump: it is not UTF-8 text") from None


def restore(engine: Engine, lines: Iterable[str]) -> dict[str, int]:
    """Load a dump into an empty store, then upgrade it; returns the row count of each table."""
    rows = iter(lines)
    header = _header(next(rows, ""))
    revision = header["revision"]
    _prepare_schema(engine, revision)
    with engine.begin() as connection:
        tables = _reflect(connection)
        counts = _load(connection, tables, rows)
        _reset_sequences(connection, tables.values())
    from editorial.db import upgrade

    upgrade(engine)
    return counts


def _header(first: str) -> dict[str, Any]:
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("this is not an Editorial dump: its first line is not the dump header")
    if header.get("version") != VERSION:
        raise BackupError(
            f"this dump is format version {header.get('version')}; this Editorial reads "
            f"version {VERSION} only: restore it with the Editorial that wrote it"
        )
    if header.get("revision") not in known_revisions():
        raise BackupError(
            f"this dump is at schema revision {header.get('revision')}, which this Editorial "
            "does not know: restore it with the same or a newer Editorial"
        )
    return header


def _prepare_schema(engine: Engine, revision: str) -> None:
    """Refuse a store with data in it; bring an empty one to the dump's revision."""
    from alembic import command

    with engine.connect() as connection:
        for table in _reflect(connection).values():
            found = connection.execute(select(func.count()).select_from(table)).scalar()
            if found:
                raise BackupError(
                    f"the store is not empty (table '{table.name}' has {found} rows): restore "
                    "only into an empty store, e.g. a new EDITORIAL_DATABASE_URL"
                )
    current = current_revision(engine)
    if current == revision:
        return
    order = known_revisions()
    config = alembic_config(engine)
    if current is not None and order.index(revision) > order.index(current):
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


def _reflect(connection: Connection) -> dict[str, Table]:
    """The store's tables as they are now (at whatever revision), foreign-key order."""
    metadata = MetaData()
    metadata.reflect(connection)
    return {t.name: t for t in metadata.sorted_tables if t.name != "alembic_version"}


def _decoders(table: Table) -> dict[str, Any]:
    decoders: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, DateTime):
            decoders[column.name] = datetime.fromisoformat
        elif isinstance(column.type, Date):
            decoders[column.name] = date.fromisoformat
    return decoders


def _load(connection: Connection, tables: dict[str, Table], lines: Iterator[str]) -> dict[str, int]:
    """Insert the rows in batches; the trailer's counts must match what was read."""
    counts: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    table: Table | None = None
    for number, line in enumerate(lines, start=2):
        record = _record(line, number)
        if "end" in record:
            _flush(connection, table, batch, number - 1)
            trailer = record["end"]
            read = (
                {name: counts.get(name, 0) for name in trailer} if isinstance(trailer, dict) else {}
            )
            if read != trailer or not set(counts) <= set(read):  # empty tables count 0 rows
                raise BackupError(f"line {number}: the trailer's row counts do not match the rows")
            return counts
        name = record.get("table")
        if table is None or name != table.name:
            _flush(connection, table, batch, number - 1)
            table = _table(tables, name, number)
            decoders = _decoders(table)
        row = record.get("row")
        if not isinstance(row, dict) or not set(row) <= set(table.columns.keys()):
            raise BackupError(f"line {number}: the row does not fit table '{name}'")
        batch.append(_decoded(row, decoders, number))
        counts[name] = counts.get(name, 0) + 1
        if len(batch) >= BATCH:
            _flush(connection, table, batch, number)
    raise BackupError("the dump ends without its trailer line: it was cut short; nothing restored")


def _record(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise BackupError(f"line {number}: not valid JSON ({exc})") from None
    if not isinstance(record, dict):
        raise BackupError(f"line {number}: expected a JSON object")
    return record


def _table(tables: dict[str, Table], name: Any, number: int) -> Table:
    if name not in tables:
        raise BackupError(f"line {number}: the store has no table '{name}'")
    return tables[name]


def _decoded(row: dict[str, Any], decoders: dict[str, Any], number: int) -> dict[str, Any]:
    """The row with its dates and datetimes read from ISO 8601."""
    decoded = dict(row)
    for name, decode in decoders.items():
        if decoded.get(name) is not None:
            try:
                decoded[name] = decode(decoded[name])
            except (TypeError, ValueError):
                raise BackupError(
                    f"line {number}: column '{name}' holds {decoded[name]!r}, not an ISO 8601 "
                    "date or time; nothing restored"
                ) from None
    return decoded


def _flush(
    connection: Connection, table: Table | None, batch: list[dict[str, Any]], last: int
) -> None:
    """Insert the batch, the rows of the lines up to `last`; a row the store refuses (a key
    twice, a value of the wrong type) is a BackupError naming those lines."""
    if table is not None and batch:
        try:
            connection.execute(insert(table), batch)
        except StatementError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
            raise BackupError(
                f"lines {last - len(batch) + 1}-{last}: table '{table.name}' refused one of "
                f"these rows ({reason}); nothing restored"
            ) from None
    batch.clear()


def _reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """PostgreSQL: move each serial key's sequence past the restored rows."""
    if not _postgres(connection):
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.exec_driver_sql(
                "SELECT pg_get_serial_sequence(%s, %s)", (quote(table.name), column.name)
            ).scalar()
            if sequence:
                top = connection.execute(select(func.max(column))).scalar()
                connection.exec_driver_sql(
                    "SELECT setval(%s, %s, %s)", (sequence, top or 1, top is not None)
                )
