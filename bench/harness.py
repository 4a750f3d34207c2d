"""What the load benchmarks share: app processes on loopback, a throwaway store, the HTTP client,
CPU accounting, latency figures and the check that every accepted rating reached the store.

The client is aiohttp with one connection per simulated reader: its C parser costs a fraction
of a millisecond per request, so on a 2-core machine the server, not the client, is measured."""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_NET = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544: reserved for benchmarks
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EDITOR_EMAIL = "bench-editor@example.com"
T = TypeVar("T")


@dataclass
class Kind:
    """One type of request: latencies of the counted ones, and errors by kind."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def percentile(self, share: float) -> float:
        """Latency in ms below which `share` of the requests finished (nan when none)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        if share == 0.5:
            return statistics.median(ordered) * 1000
        return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_store(url: str, editor: bool = False) -> str | None:
    """Upgrade the store and ingest the sample site; with `editor`, an editor's API token."""
    from editorial.auth import create_user, issue_token
    from editorial.db import make_engine, session_scope, upgrade
    from editorial.ingest import ingest

    engine = make_engine(url)
    upgrade(engine)
    report = ingest(engine, REPO / "content")
    assert not report.errors, report.errors
    token = None
    if editor:
        with session_scope(engine) as session:
            user = create_user(session, "Bench Editor", EDITOR_EMAIL, "editor", None)
            token = issue_token(session, user)
    engine.dispose()
    return token


def start_server(url: str, workers: int, port: int, **settings: str) -> subprocess.Popen:
    """`workers` app processes on 127.0.0.1:`port`, trusting 127.0.0.1 as a proxy."""
    env = os.environ | {
        "EDITORIAL_DATABASE_URL": url,
        "EDITORIAL_CONTENT_DIR": str(REPO / "content"),
        "EDITORIAL_TRUSTED_PROXIES": "127.0.0.1",
        "EDITORIAL_BASE_URL": f"http://127.0.0.1:{port}/",
    }
    env |= {f"EDITORIAL_{name.upper()}": value for name, value in settings.items()}
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
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        stop_server(server)
        raise SystemExit("the server did not start within 60 s")
    return server


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


def reader_address() -> str:
    """A reader's own address, as a trusted proxy would pass it on in X-Forwarded-For."""
    return str(BENCH_NET[random.randrange(1, BENCH_NET.num_addresses - 1)])


def reader_cookie(response: aiohttp.ClientResponse) -> str | None:
    for header in response.headers.getall("set-cookie", []):
        if header.startswith("editorial_reader="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


def clients(base: str, count: int) -> list[aiohttp.ClientSession]:
    """`count` clients of one keep-alive connection each, which keep no cookies of their own."""
    return [
        aiohttp.ClientSession(
            base_url=base,
            connector=aiohttp.TCPConnector(limit=1),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        for _ in range(count)
    ]


async def public_slugs(client: aiohttp.ClientSession) -> list[str]:
    async with client.get("/api/pieces", params={"per_page": "100"}) as response:
        listing = await response.json()
    return [item["slug"] for item in listing["items"]]


async def rate(
    client: aiohttp.ClientSession,
    slug: str,
    stars: int,
    headers: dict[str, str],
    kind: Kind,
    count: bool,
) -> aiohttp.ClientResponse | None:
    """POST one rating; the response when it was accepted (200), else None with the error noted."""
    started = time.perf_counter()
    try:
        async with client.post(
            f"/api/pieces/{slug}/ratings", json={"stars": stars}, headers=headers
        ) as response:
            await response.read()
    except (TimeoutError, aiohttp.ClientError) as error:
        kind.error(type(error).__name__)
        return None
    if response.status != 200:
        kind.error(f"HTTP {response.status}")
        return None
    if count:
        kind.latencies.append(time.perf_counter() - started)
    return response


async def one_rater(
    client: aiohttp.ClientSession,
    slugs: list[str],
    kind: Kind,
    expected: dict[str, tuple[str, int]],
    count: bool,
) -> None:
    """A new reader rates a piece; one in three then rates it again with their cookie.

    `expected` maps each reader cookie to the (slug, stars) the store must end up holding."""
    slug = random.choice(slugs)
    headers = {"X-Forwarded-For": reader_address()}
    cookie = None
    for _ in range(2 if random.random() < 1 / 3 else 1):
        stars = random.randint(1, 5)
        if cookie:
            headers["Cookie"] = f"editorial_reader={cookie}"
        response = await rate(client, slug, stars, headers, kind, count)
        if response is None:
            return
        cookie = cookie or reader_cookie(response)
        if cookie is None:
            kind.error("no cookie")
            return
        expected[cookie] = (slug, stars)


def check_ratings(url: str, expected: dict[str, tuple[str, int]]) -> tuple[int, int]:
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
    for slug, stars in expected.values():
        want[slug, stars] = want.get((slug, stars), 0) + 1
    have = {(slug, stars): n for slug, stars, n in rows if stars in STARS}
    wrong = sum(abs(want.get(k, 0) - have.get(k, 0)) for k in set(want) | set(have))
    return stored, wrong


def with_pg_schema(base: str, action: Callable[[str], T]) -> T:
    """Run `action` with the address of a fresh PostgreSQL schema, dropped afterwards."""
    from sqlalchemy import text

    from editorial.db import make_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return action(url)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
