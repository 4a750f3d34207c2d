"""Mixed load benchmark: readers' page views, ratings and comments beside editors' calendar and
gap-report requests, against real app processes on the loopback interface.

    python bench/load.py                          # SQLite with 1 process, then PostgreSQL with 2
    python bench/load.py --backend sqlite --seconds 20
    python bench/load.py --pages 24 --raters 12 --commenters 2 --editors 2

Each kind of request has its own pool of simulated people, each with one keep-alive connection.
Page viewers, raters and commenters offer a set rate (--page-rate page views, --rater-rate
arriving raters and --comment-rate comments per second: 10% above the targets by default, and
comments a tenth of the ratings; a person whose answer comes late sends the next request at
once), so that the load is the same however fast the server answers. A rate of 0 sends as fast
as answered: --comment-rate 0 fills whatever the machine has left with comments.
- page views: a piece page (4 in 5), the home page or a term page of the sample site;
- ratings: a new reader rates a piece, and one in three rates it again with their cookie;
- comments: a new reader comments on a piece, held for moderation as the default setting says;
- editors: an editor's API token asks for the calendar or the coverage-gap report, then the
  editor reads it for --editor-pause seconds (people, unlike readers' browsers, pause).
Readers come through a trusted proxy on 127.0.0.1, each with an address from the benchmark
range 198.18.0.0/15 in X-Forwarded-For, so that per-network limits see many networks. The load
stops by itself after --seconds. The store is then checked: every rating the server accepted
must be there with the stars it was last given, and every accepted comment with its text.

Targets on the 2-core machine (client and server share it): >= 500 page views/s and >= 200
ratings/s at the same time, p99 <= 250 ms for every kind, no errors and no lost writes, on
SQLite with one process and on PostgreSQL with two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
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
    reader_address,
    start_server,
    stop_server,
    with_pg_schema,
)

Action = Callable[[aiohttp.ClientSession, "Run"], Awaitable[None]]
KINDS = ("page view", "rating", "comment", "calendar", "gap report")
PAGE_VIEW_TARGET, RATING_TARGET, P99_TARGET_MS = 500, 200, 250


@dataclass
class Run:
    """What the client sent and saw during one backend's load."""

    slugs: list[str]
    token: str
    kinds: dict[str, Kind] = field(default_factory=lambda: {name: Kind() for name in KINDS})
    ratings: dict[str, tuple[str, int]] = field(default_factory=dict)  # cookie -> (slug, stars)
    comments: dict[int, str] = field(default_factory=dict)  # accepted comment id -> body
    counting: bool = False
    editor_pause: float = 1.0  # seconds an editor spends on a page before the next request

    async def timed(
        self, name: str, send: Callable[[], Awaitable[aiohttp.ClientResponse]], ok: int
    ) -> aiohttp.ClientResponse | None:
        """Send one request; note its latency when counting, or its error."""
        kind = self.kinds[name]
        started = time.perf_counter()
        try:
            response = await send()
            await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            kind.error(type(error).__name__)
            return None
        if response.status != ok:
            kind.error(f"HTTP {response.status}")
            return None
        if self.counting:
            kind.latencies.append(time.perf_counter() - started)
        return response


PAGE_PATHS = ["/", "/audience/finance/", "/stage/awareness/", "/topic/cloud/", "/format/blog-post/"]


async def page_view(client: aiohttp.ClientSession, run: Run) -> None:
    if random.random() < 0.8:
        path = f"/pieces/{random.choice(run.slugs)}/"
    else:
        path = random.choice(PAGE_PATHS)
    await run.timed("page view", lambda: client.get(path), 200)


async def rating(client: aiohttp.ClientSession, run: Run) -> None:
    await one_rater(client, run.slugs, run.kinds["rating"], run.ratings, run.counting)


async def comment(client: aiohttp.ClientSession, run: Run) -> None:
    body = f"Useful for our planning round; we will try the checklist. (note {uuid.uuid4().hex})"
    slug = random.choice(run.slugs)
    response = await run.timed(
        "comment",
        lambda: client.post(
            f"/api/pieces/{slug}/comments",
            json={"name": "Bench Reader", "body": body},
            headers={"X-Forwarded-For": reader_address()},
        ),
        201,
    )
    if response is not None:
        accepted = await response.json()
        if accepted.get("id") is not None:
            run.comments[accepted["id"]] = body


async def editor(client: aiohttp.ClientSession, run: Run) -> None:
    """An editor opens the calendar or the gap report, then reads it for a while."""
    headers = {"Authorization": f"Bearer {run.token}"}
    if random.random() < 0.5:
        await run.timed("calendar", lambda: client.get("/api/calendar", headers=headers), 200)
    else:
        await run.timed("gap report", lambda: client.get("/api/gaps", headers=headers), 200)
    await asyncio.sleep(run.editor_pause)


def check_comments(url: str, accepted: dict[int, str]) -> tuple[int, int]:
    """(comments stored, accepted comments missing or changed)."""
    from sqlmodel import Session, select

    from editorial.db import make_engine
    from editorial.models import Comment

    engine = make_engine(url)
    with Session(engine) as session:
        stored = dict(session.exec(select(Comment.id, Comment.body)).all())
    engine.dispose()
    return len(stored), sum(stored.get(i) != body for i, body in accepted.items())


async def load(base: str, token: str, args: argparse.Namespace) -> tuple[Run, float]:
    """Warm up briefly, then keep every pool going for --seconds.

    A pool with a rate sends on a schedule (worker i of n at i/rate, then every n/rate seconds;
    a late worker sends at once), so that it offers that load and no more; a pool without one
    sends as fast as it is answered."""
    pools: list[tuple[Action, int, float]] = [
        (page_view, args.pages, args.page_rate),
        (rating, args.raters, args.rater_rate),
        (comment, args.commenters, args.comment_rate),
        (editor, args.editors, 0.0),
    ]
    plan = [
        (action, (i / rate, size / rate) if rate else (0.0, 0.0))
        for action, size, rate in pools
        for i in range(size)
    ]
    connections = clients(base, len(plan))
    pairs = zip(plan, connections, strict=True)
    workers = [(action, client, timing) for (action, timing), client in pairs]
    try:
        run = Run(await public_slugs(connections[0]), token, editor_pause=args.editor_pause)
        await asyncio.gather(*(action(c, run) for action, c, _ in workers for _ in range(3)))
        run.counting = True
        started = time.perf_counter()
        stop = started + args.seconds

        async def keep_going(action: Action, client, timing: tuple[float, float]) -> None:
            offset, interval = timing
            due = started + offset
            while time.perf_counter() < stop:
                if interval:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    due += interval
                await action(client, run)

        await asyncio.gather(*(keep_going(*worker) for worker in workers))
        return run, time.perf_counter() - started
    finally:
        for client in connections:
            await client.close()


def report(label: str, run: Run, elapsed: float, server_cpu: float, client_cpu: float) -> bool:
    """Print the figures of one backend; True when every target was met."""
    total = sum(len(kind.latencies) for kind in run.kinds.values())
    print(f"\n{label}: {total / elapsed:.0f} requests/s over {elapsed:.1f} s")
    print(f"  {'kind':<11} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}  errors")
    rates = {}
    for name, kind in run.kinds.items():
        rates[name] = len(kind.latencies) / elapsed
        print(
            f"  {name:<11} {len(kind.latencies):7d} {rates[name]:7.0f} "
            f"{kind.percentile(0.5):8.1f} {kind.percentile(0.99):8.1f}  "
            f"{sum(kind.errors.values())} {kind.errors or ''}"
        )
    print(
        f"  CPU per request: server {server_cpu * 1000 / max(1, total):.2f} ms, "
        f"client {client_cpu * 1000 / max(1, total):.2f} ms"
    )
    errors = sum(sum(kind.errors.values()) for kind in run.kinds.values())
    slowest = max(kind.percentile(0.99) for kind in run.kinds.values() if kind.latencies)
    met = {
        f"page views >= {PAGE_VIEW_TARGET}/s": rates["page view"] >= PAGE_VIEW_TARGET,
        f"ratings >= {RATING_TARGET}/s": rates["rating"] >= RATING_TARGET,
        f"p99 <= {P99_TARGET_MS} ms (slowest kind {slowest:.0f} ms)": slowest <= P99_TARGET_MS,
        "no errors": errors == 0,
    }
    print("  targets: " + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in met.items()))
    return all(met.values())


def run_backend(label: str, url: str, workers: int, args: argparse.Namespace) -> bool:
    token = prepare_store(url, editor=True)
    assert token is not None
    port = free_port()
    server = start_server(url, workers, port)
    try:
        cpu, client_cpu = process_cpu(server.pid), time.process_time()
        run, elapsed = asyncio.run(load(f"http://127.0.0.1:{port}", token, args))
        cpu, client_cpu = process_cpu(server.pid) - cpu, time.process_time() - client_cpu
    finally:
        stop_server(server)
    met = report(label, run, elapsed, cpu, client_cpu)
    stored_ratings, wrong_ratings = check_ratings(url, run.ratings)
    stored_comments, lost_comments = check_comments(url, run.comments)
    lost = wrong_ratings + lost_comments + abs(stored_ratings - len(run.ratings))
    print(
        f"  writes: {len(run.ratings)} readers' ratings accepted, {stored_ratings} stored, "
        f"{wrong_ratings} lost or wrong; {len(run.comments)} comments accepted, "
        f"{stored_comments} stored, {lost_comments} lost or changed"
    )
    return met and lost == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured load per backend")
    parser.add_argument("--pages", type=int, default=24, help="readers viewing pages at once")
    parser.add_argument(
        "--page-rate", type=float, default=550, help="page views offered per second (0: no limit)"
    )
    parser.add_argument("--raters", type=int, default=12, help="readers rating at once")
    parser.add_argument(
        "--rater-rate",
        type=float,
        default=165,
        help="raters arriving per second, each rating once or (one in three) twice (0: no limit)",
    )
    parser.add_argument("--commenters", type=int, default=2, help="readers commenting at once")
    parser.add_argument(
        "--comment-rate", type=float, default=22, help="comments offered per second (0: no limit)"
    )
    parser.add_argument("--editors", type=int, default=2, help="editors at work at once")
    parser.add_argument(
        "--editor-pause", type=float, default=1.0, help="seconds between an editor's requests"
    )
    parser.add_argument("--pg-url", default=os.environ.get("EDITORIAL_BENCH_PG_URL", PG_URL))
    parser.add_argument("--pg-workers", type=int, default=2, help="app processes on PostgreSQL")
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start")
    comments = f"offering {args.comment_rate:g}/s" if args.comment_rate else "as fast as answered"
    print(
        f"in flight: {args.pages} page viewers offering {args.page_rate:g}/s, {args.raters} "
        f"raters arriving at {args.rater_rate:g}/s, {args.commenters} commenters {comments}, "
        f"{args.editors} editors; {args.seconds:g} s of load per backend"
    )
    ok = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            ok &= run_backend("SQLite, 1 process", f"sqlite:///{folder}/bench.db", 1, args)
    if args.backend in ("postgres", "both"):
        label = f"PostgreSQL, {args.pg_workers} processes"
        ok &= with_pg_schema(
            args.pg_url, lambda url: run_backend(label, url, args.pg_workers, args)
        )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
