"""Ingest benchmark: cold ingest, no-op re-ingest and peak memory on the standard corpus.

    python bench/ingest.py                 # N = 1,000 and 10,000
    python bench/ingest.py --n 10000       # one size

Each measurement runs in a fresh process, so that memory and imports are counted honestly.
Targets at N = 10,000 on a 2-core machine: cold <= 15 s, no-op <= 1 s, peak memory <= 300 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAKE_CORPUS = Path(
    os.environ.get("EDITORIAL_MAKE_CORPUS", REPO.parent / "shared" / "bench" / "make_corpus.py")
)

# Runs inside a child process: one ingest, then its own timings and peak memory as JSON.
CHILD = """
import json, resource, sys, time
from pathlib import Path
from editorial.db import make_engine, upgrade
from editorial.ingest import ingest
engine = make_engine(sys.argv[1]); upgrade(engine)
wall, cpu = time.perf_counter(), time.process_time()
report = ingest(engine, Path(sys.argv[2]))
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": cpu, "children_cpu": kids.ru_utime + kids.ru_stime,
                  "rss_main": self_rss, "rss_worker": kids.ru_maxrss / 1024,
                  "report": {k: v for k, v in report.as_json().items() if k != "errors"},
                  "errors": len(report.errors)}))
"""


def run_child(url: str, corpus: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(corpus)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(out.stdout)


def run_cli(url: str, corpus: Path) -> float:
    """Wall time of the whole `editorial ingest` command, interpreter start-up included."""
    env = os.environ | {"EDITORIAL_DATABASE_URL": url}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "editorial.cli", "ingest", str(corpus), "--quiet"],
        check=True,
        capture_output=True,
        env=env,
        cwd=REPO,
    )
    return time.perf_counter() - start


def measure(n: int, work: Path, database_url: str | None) -> None:
    corpus = work / f"corpus-{n}"
    if not corpus.exists():
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), "--n", str(n), "--out", str(corpus)],
            check=True,
            capture_output=True,
        )
    url = database_url or f"sqlite:///{work / f'bench-{n}.db'}"
    if not database_url:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / f'bench-{n}.db'}{suffix}").unlink(missing_ok=True)
    cold = run_child(url, corpus)
    noop = run_child(url, corpus)
    noop_cli = run_cli(url, corpus)
    peak = max(cold["rss_main"], cold["rss_worker"])
    print(
        f"N={n:>6}  cold ingest  wall {cold['wall']:6.2f} s  cpu main {cold['cpu']:6.2f} s  "
        f"cpu workers {cold['children_cpu']:6.2f} s  {cold['report']}"
    )
    print(
        f"N={n:>6}  no-op ingest wall {noop['wall']:6.2f} s  (whole CLI command {noop_cli:.2f} s)"
        f"  {noop['report']}"
    )
    print(
        f"N={n:>6}  peak memory  main {cold['rss_main']:.0f} MiB, largest worker "
        f"{cold['rss_worker']:.0f} MiB (largest single process {peak:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="corpus size (repeatable)")
    parser.add_argument("--work", type=Path, help="folder for corpora and stores (default: temp)")
    parser.add_argument(
        "--database-url", help="store to use instead of a fresh SQLite file (it must be empty)"
    )
    args = parser.parse_args()
    print(f"command: python bench/ingest.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="editorial-bench-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        for n in args.n or [1000, 10000]:
            measure(n, work, args.database_url)


if __name__ == "__main__":
    main()
