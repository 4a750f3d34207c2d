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
import ipaddress
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

# httpcore asks sniffio which event loop runs on every request; without sniffio installed
# that is a failed import each time, which costs the client more than the server's whole
# request. Marking it absent makes the answer "asyncio" at once.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BENCH_NET = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544: reserved for benchmarks
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Tally:
    """What the client saw: latencies of counted requests, errors, and the expected store."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    expected: dict[str, tuple[str, int]] = field(default_factory=dict)  # cookie -> (slug, stars)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_store(url: str) -> None:
    """Upgrade the store and ingest the sample site, in this process."""
    sys.path.insert(0, str(REPO))
    from editorial.db import make_engine, upgrade
    from editorial.ingest import ingest

    engine = make_engine(url)
    upgrade(engine)
    report = ingest(engine, REPO / "content")
    assert not report.errors, report.errors
    engine.dispose()


def start_server(url: str, workers: int, port: int) -> subprocess.Popen:
    env = os.environ | {
        "EDITORIAL_DATABASE_URL": url,
        "EDITORIAL_CONTENT_DIR": str(REPO / "content"),
        "EDITORIAL_TRUSTED_PROXIES": "127.0.0.1",
        "EDITORIAL_BASE_URL": f"http://127.0.0.1:{port}/",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-proxy-headers",  # as `editorial serve`: the app decides whom to believe
    ]
    server = subprocess.Popen(command, cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not start within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def process_cpu(root: int) -> float:
    """CPU seconds used so far by a process and its children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def reader_cookie(response: httpx.Response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("editorial_reader="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


async def one_reader(
    client: httpx.AsyncClient, slugs: list[str], tally: Tally, count: bool
) -> None:
    """A new reader rates a piece; one in three then rates it again with their cookie."""
    slug = random.choice(slugs)
    address = str(BENCH_NET[random.randrange(1, BENCH_NET.num_addresses - 1)])
    headers = {"X-Forwarded-For": address}
    cookie = None
    for _ in range(2 if random.random() < 1 / 3 else 1):
        stars = random.randint(1, 5)
        if cookie:
            headers["Cookie"] = f"editorial_reader={cookie}"
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/api/pieces/{slug}/ratings", json={"stars": stars}, headers=headers
            )
        except httpx.HTTPError as error:
            tally.error(type(error).__name__)
            return
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            tally.error(f"HTTP {response.status_code}")
            return
        cookie = cookie or reader_cookie(response)
        if cookie is None:
            tally.error("no cookie")
            return
        tally.expected[cookie] = (slug, stars)
        if count:
            tally.latencies.append(elapsed)
            tally.ratings += 1


async def load(
    base: str, seconds: float, concurrency: int, max_requests: int
) -> tuple[Tally, float]:
    """Keep `concurrency` readers going for `seconds` (after a short warm-up).

    Each worker has its own client and connection: one shared pool scans all its connections
    on every request, which would make the client, not the server, the bottleneck."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base, limits=one, timeout=30, cookies=no_cookies)
        for _ in range(concurrency)
    ]
    try:
        listing = (await clients[0].get("/api/pieces", params={"per_page": 100})).json()
        slugs = [item["slug"] for item in listing["items"]]
        tally = Tally()
        await asyncio.gather(
            *(one_reader(clients[i % concurrency], slugs, tally, False) for i in range(100))
        )
        stop = time.perf_counter() + seconds
        started = time.perf_counter()

        async def worker(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < stop and tally.ratings < max_requests:
                await one_reader(client, slugs, tally, True)

        await asyncio.gather(*(worker(client) for client in clients))
        return tally, time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()


def check_store(url: str, tally: Tally) -> tuple[int, int]:
    """(ratings stored, ratings lost or wrong): the store against what the server accepted."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from editorial.db import make_engine
    from editorial.feedback import STARS
    from editorial.models import Piece, Rating

    engine = make_engine(url)
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(Rating)).one()
        rows = session.exec(
            select(Piece.slug, Rating.stars, func.count())
            .join(Piece, Piece.id == Rating.piece_id)
            .group_by(Piece.slug, Rating.stars)
        ).all()
    engine.dispose()
    want: dict[tuple[str, int], int] = {}
    for slug, stars in tally.expected.values():
        want[slug, stars] = want.get((slug, stars), 0) + 1
    have = {(slug, stars): n for slug, stars, n in rows if stars in STARS}
    wrong = sum(abs(want.get(k, 0) - have.get(k, 0)) for k in set(want) | set(have))
    return stored, wrong


def run(label: str, url: str, workers: int, args: argparse.Namespace) -> bool:
    prepare_store(url)
    port = free_port()
    server = start_server(url, workers, port)
    try:
        cpu, client_cpu = process_cpu(server.pid), time.process_time()
        tally, elapsed = asyncio.run(
            load(f"http://127.0.0.1:{port}", args.seconds, args.concurrency, args.max_requests)
        )
        cpu, client_cpu = process_cpu(server.pid) - cpu, time.process_time() - client_cpu
    finally:
        stop_server(server)
    stored, wrong = check_store(url, tally)
    latencies = sorted(tally.latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    rate = tally.ratings / elapsed if elapsed else 0.0
    errors = sum(tally.errors.values())
    print(
        f"{label:<28} {rate:8.0f} ratings/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"requests {tally.ratings}  errors {errors} {tally.errors or ''}  "
        f"readers {len(tally.expected)}  stored {stored}  lost or wrong {wrong}  "
        f"CPU per rating: server {cpu * 1000 / max(1, tally.ratings + 100):.2f} ms, "
        f"client {client_cpu * 1000 / max(1, tally.ratings + 100):.2f} ms"
    )
    return errors == 0 and wrong == 0 and stored == len(tally.expected)


def postgres_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    separator = "&" if "?" in base else "?"
    return schema, f"{base}{separator}options=-csearch_path%3D{schema}"


def with_pg_schema(base: str, action) -> bool:
    from sqlalchemy import text

    sys.path.insert(0, str(REPO))
    from editorial.db import make_engine

    schema, url = postgres_schema_url(base)
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return action(url)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
