"""Coverage-gap benchmark: the full audience x stage x topic report over a large store.

    python bench/gaps.py                               # N = 100,000; SQLite, then PostgreSQL
    python bench/gaps.py --n 10000 --no-postgres
    python bench/gaps.py --work /tmp/gapbench          # keep (and reuse) corpus and SQLite store

The corpus comes from make_corpus.py. The SQLite store is built with Editorial's own ingest (the
same path `editorial ingest` takes) and kept in the work folder, so that a second run skips the
build. The PostgreSQL store is a schema of its own on EDITORIAL_BENCH_POSTGRES_URL (default: the
local test server), filled by copying the SQLite store's `piece` and `pieceterm` rows in bulk with
COPY (ingesting 100,000 files a second time would only measure ingest again; the store's triggers
fill `piececell` as the rows arrive), vacuumed and analysed, then dropped when the run ends.

Each figure is the median (and the fastest) of --runs timed runs after one warm-up run, in one
process and session; "now" is the real clock, and a second moment inside the corpus's years
(--as-of) shows the report where many pieces are still fresh.
Target: the full-cube report (the cells) in <= 0.5 s on SQLite, and the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from editorial.coverage import coverage, parse_as_of
from editorial.db import make_engine, upgrade
from editorial.gaps import gap_report
from editorial.ingest import ingest
from editorial.refresh import review_queue
from editorial.taxonomy import Taxonomy, load_taxonomy

REPO = Path(__file__).resolve().parent.parent
MAKE_CORPUS = Path(
    os.environ.get("EDITORIAL_MAKE_CORPUS", REPO.parent / "shared" / "bench" / "make_corpus.py")
)
POSTGRES = os.environ.get(
    "EDITORIAL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COPIED = ("piece", "pieceterm")
DERIVED = ("piececell",)  # filled by the store's triggers as the copied rows arrive


def corpus_of(n: int, work: Path) -> Path:
    """The make_corpus.py corpus of `n` pieces, written once."""
    corpus = work / f"corpus-{n}"
    if not (corpus / "taxonomy.yaml").exists():
        command = [sys.executable, str(MAKE_CORPUS), "--n", str(n), "--out", str(corpus)]
        subprocess.run(command, check=True, capture_output=True)
    return corpus


def sqlite_store(n: int, work: Path, corpus: Path) -> Path:
    """A SQLite store of the corpus, ingested once (the file stays for later runs)."""
    path = work / f"gaps-{n}.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM piece")).scalar_one()
        if count < n:
            started = time.perf_counter()
            report = ingest(engine, corpus)
            seconds = time.perf_counter() - started
            print(f"built {path.name}: ingest of {report.added} pieces took {seconds:.0f} s")
    finally:
        engine.dispose()
    return path


@contextmanager
def postgres_copy(source: Path) -> Iterator[str]:
    """A fresh schema holding the SQLite store's pieces and terms; dropped afterwards."""
    schema = f"gaps_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES else "?"
    url = f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        _copy_rows(source, engine)
        print(
            f"copied {source.name} into PostgreSQL schema {schema} in {time.perf_counter() - started:.0f} s"
        )
        engine.dispose()
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        print(f"dropped schema {schema}")


def _copy_rows(source: Path, engine: Engine) -> None:
    """COPY every row of the copied tables, in UTC, then VACUUM ANALYZE them."""
    reader = sqlite3.connect(source)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        for table in COPIED:
            columns = [row[1] for row in reader.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in reader.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        for table in (*COPIED, *DERIVED):
            cursor.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.close()
        reader.close()


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and fastest wall time of `runs` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def measure(label: str, url: str, taxonomy: Taxonomy, as_of: str, runs: int) -> None:
    """Time the report's parts on one store, now and at `as_of`."""
    engine = make_engine(url)
    topic = taxonomy.terms("topic")[0].slug
    try:
        with Session(engine) as session:
            for moment_label, moment in (("now", None), (as_of, parse_as_of(as_of))):
                cases: dict[str, Callable[[], Any]] = {
                    "full cube (cells)": lambda m=moment: coverage(session, taxonomy, as_of=m),
                    "full report (+10 recommendations)": lambda m=moment: gap_report(
                        session, taxonomy, as_of=m
                    ),
                    f"one topic ({topic})": lambda m=moment: coverage(
                        session, taxonomy, topic=topic, as_of=m
                    ),
                    "review queue (50)": lambda m=moment: review_queue(session, taxonomy, as_of=m),
                }
                for name, call in cases.items():
                    median, best = timed(call, runs)
                    print(
                        f"{label:<10} as of {moment_label:<10} {name:<36} "
                        f"median {median:6.3f} s   fastest {best:6.3f} s"
                    )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="corpus size")
    parser.add_argument("--work", type=Path, help="folder for corpus and store (default: temp)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--as-of", default="2025-06-30", help="a second report moment")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    print(f"command: python bench/gaps.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(prefix="editorial-gaps-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        corpus = corpus_of(args.n, work)
        taxonomy = load_taxonomy(corpus / "taxonomy.yaml")
        store = sqlite_store(args.n, work, corpus)
        cells = (
            len(list(taxonomy.terms("audience")))
            * len(taxonomy.terms("stage"))
            * len(taxonomy.terms("topic"))
        )
        print(f"N={args.n}: {cells} cells")
        measure("SQLite", f"sqlite:///{store}", taxonomy, args.as_of, args.runs)
        if not args.no_postgres:
            with postgres_copy(store) as url:
                measure("PostgreSQL", url, taxonomy, args.as_of, args.runs)


if __name__ == "__main__":
    main()
