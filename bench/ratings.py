"""Ratings benchmark: sustained ratings per second and latency against real app processes.

    python bench/ratings.py                       # SQLite with 1 process, then PostgreSQL with 2
    python bench/ratings.py --backend sqlite --seconds 20 --concurrency 32
    python bench/ratings.py --backend postgres --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Everything runs on the loopback interface. Each simulated reader arrives without a cookie (as
a first visit does), rates a random published piece of the sample site, and one reader in three
rates again with the cookie it was given (a replacement). Readers come through a trusted proxy
on 127.0.0.1 with their own address from the benchmark range 198.18.0.0/15 in X-Forwarded-For
(header values only: nothing is ever sent there), so the per-network limits see many networks,
as they would in production. The load stops by itself after --seconds (and --max-requests); the
store is then checked: every rating the server accepted must be there exactly once, with the
stars it was last given. Target on a 2-core machine: >= 300 ratings/s, no errors, no lost ratings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    PG_URL,
    Kind,
    check_ratings,
    clients,
    free_port,
    one_rater,
    prepare_store,
    process_cpu,
    public_slugs,
    start_server,
    stop_server,
    with_pg_schema,
)


async def load(
    base: str, seconds: float, concurrency: int, max_requests: int
) -> tuple[Kind, dict[str, tuple[str, int]], float]:
    """Keep `concurrency` readers going for `seconds` (after a short warm-up of 100 readers)."""
    pool = clients(base, concurrency)
    try:
        slugs = await public_slugs(pool[0])
        kind, expected = Kind(), {}
        await asyncio.gather(
            *(one_rater(pool[i % concurrency], slugs, kind, expected, False) for i in range(100))
        )
        stop = time.perf_counter() + seconds
        started = time.perf_counter()

        async def worker(client) -> None:
            while time.perf_counter() < stop and len(kind.latencies) < max_requests:
                await one_rater(client, slugs, kind, expected, True)

        await asyncio.gather(*(worker(client) for client in pool))
        return kind, expected, time.perf_counter() - started
    finally:
        for client in pool:
            await client.close()


def run(label: str, url: str, workers: int, args: argparse.Namespace) -> bool:
    prepare_store(url)
    port = free_port()
    server = start_server(url, workers, port)
    try:
        cpu, client_cpu = process_cpu(server.pid), time.process_time()
        kind, expected, elapsed = asyncio.run(
            load(f"http://127.0.0.1:{port}", args.seconds, args.concurrency, args.max_requests)
        )
        cpu, client_cpu = process_cpu(server.pid) - cpu, time.process_time() - client_cpu
    finally:
        stop_server(server)
    stored, wrong = check_ratings(url, expected)
    ratings = len(kind.latencies)
    rate = ratings / elapsed if elapsed else 0.0
    errors = sum(kind.errors.values())
    print(
        f"{label:<28} {rate:8.0f} ratings/s  p50 {kind.percentile(0.5):6.1f} ms  "
        f"p99 {kind.percentile(0.99):6.1f} ms  requests {ratings}  "
        f"errors {errors} {kind.errors or ''}  readers {len(expected)}  stored {stored}  "
        f"lost or wrong {wrong}  CPU per rating: "
        f"server {cpu * 1000 / max(1, ratings + 100):.2f} ms, "
        f"client {client_cpu * 1000 / max(1, ratings + 100):.2f} ms"
    )
    return errors == 0 and wrong == 0 and stored == len(expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured load per backend")
    parser.add_argument("--concurrency", type=int, default=32, help="readers in flight at once")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many")
    parser.add_argument("--pg-url", default=os.environ.get("EDITORIAL_BENCH_PG_URL", PG_URL))
    parser.add_argument("--pg-workers", type=int, default=2, help="app processes on PostgreSQL")
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start")
    print(f"{args.concurrency} readers in flight, {args.seconds:g} s of load per backend")
    ok = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            ok &= run("SQLite, 1 process", url, 1, args)
    if args.backend in ("postgres", "both"):
        label = f"PostgreSQL, {args.pg_workers} processes"
        ok &= with_pg_schema(args.pg_url, lambda url: run(label, url, args.pg_workers, args))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
