"""Two `editorial serve` processes on one PostgreSQL database, driven at once through both:
optimistic concurrency, ratings, sessions and login throttling all hold across processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from editorial import auth
from editorial.db import make_engine
from editorial.models import Piece, Rating
from tests.test_security import free_port, wait_until_up

PG_URL = os.environ.get("EDITORIAL_TEST_DATABASE_URL")
REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="two processes need a shared server database: set EDITORIAL_TEST_DATABASE_URL",
)
PASSWORD = "correct horse battery"
WORKERS = 8
PIECE = "cloud-basics"


class Pair:
    """Two running processes on one store: `urls[0]` is A, `urls[1]` is B."""

    def __init__(self, urls: list[str], engine: Engine) -> None:
        self.urls = urls
        self.engine = engine
        self.statuses: list[int] = []

    def client(self, index: int) -> httpx.Client:
        return httpx.Client(base_url=self.urls[index % 2], timeout=30, follow_redirects=False)

    def run(self, jobs: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
        """Run `jobs` on a bounded pool, keep every status for the no-5xx check."""
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            responses = list(pool.map(lambda job: job(), jobs))
        self.statuses += [r.status_code for r in responses]
        return responses


def environment(database_url: str, content_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITORIAL_")}
    env |= {"EDITORIAL_DATABASE_URL": database_url, "EDITORIAL_CONTENT_DIR": str(content_dir)}
    return env | {"EDITORIAL_THEMES_DIR": str(REPO / "themes")}


@pytest.fixture
def pair(database_url: str, content_dir: Path, tmp_path: Path) -> Iterator[Pair]:
    env = environment(database_url, content_dir)
    command = [sys.executable, "-m", "editorial.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    engine = make_engine(database_url)
    try:
        yield from _serve_both(engine, env, command, tmp_path)
    finally:
        engine.dispose()


def _serve_both(engine: Engine, env: dict, command: list[str], tmp_path: Path) -> Iterator[Pair]:
    """Team members in the store, then A and B started and answering."""
    with Session(engine) as session:
        for name, role in (("eve", "editor"), ("ada", "contributor")):
            auth.create_user(session, name.title(), f"{name}@example.com", role, PASSWORD)
        session.commit()
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):  # one after the other: A ingests the content and makes the key
            port = free_port()
            log = stack.enter_context(open(tmp_path / f"serve-{name}.log", "wb"))
            serve = [*command, "serve", "--port", str(port)]
            server = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(server.wait, timeout=30)
            stack.callback(server.terminate)
            urls.append(f"http://127.0.0.1:{port}")
            with httpx.Client(base_url=urls[-1], timeout=5) as http:
                wait_until_up(http, server)
        pair = Pair(urls, engine)
        yield pair
        assert not [s for s in pair.statuses if s >= 500], "no 5xx anywhere"


def bearer(engine: Engine, email: str) -> dict[str, str]:
    with Session(engine) as session:
        user = auth.find_user(session, email)
        assert user is not None
        token = auth.issue_token(session, user)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_concurrent_edits_of_one_version_have_exactly_one_winner(pair: Pair) -> None:
    eve = bearer(pair.engine, "eve@example.com")
    plan = {"title": "Shared piece", "audience": "cio", "topic": "cloud", "format": "blog-post"}
    with pair.client(0) as http:
        created = http.post("/api/workflow/pieces", json=plan, headers=eve)
    assert created.status_code == 201, created.text
    slug, version = created.json()["slug"], created.json()["version"]

    def edit(index: int) -> Callable[[], httpx.Response]:
        def job() -> httpx.Response:
            with pair.client(index) as http:
                change = {"title": f"Title {index}", "base_version": version}
                return http.patch(f"/api/workflow/pieces/{slug}", json=change, headers=eve)

        return job

    responses = pair.run([edit(i) for i in range(16)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 15
    winner = next(r.json() for r in responses if r.status_code == 200)
    losers = [r.json()["detail"] for r in responses if r.status_code == 409]
    assert all(d["current"]["title"] == winner["title"] for d in losers), "told what won"
    with Session(pair.engine) as session:
        piece = session.exec(select(Piece).where(Piece.slug == slug)).one()
    assert (piece.title, piece.version) == (winner["title"], version + 1)


def test_ratings_through_both_processes_count_once_each(pair: Pair) -> None:
    url = f"/api/pieces/{PIECE}/ratings"
    readers = [pair.client(i) for i in range(24)]
    try:
        firsts = pair.run([lambda r=r: r.post(url, json={"stars": 2}) for r in readers])
        assert all(r.status_code == 200 for r in firsts), [r.text for r in firsts][:2]
        # each reader rates again through the other process, with the cookie the first gave
        others = [pair.client(i + 1) for i in range(24)]
        for reader, other in zip(readers, others, strict=True):
            other.cookies = reader.cookies
        agains = pair.run([lambda o=o: o.post(url, json={"stars": 5}) for o in others])
        assert all(r.status_code == 200 for r in agains)
        for client in others:
            client.close()
    finally:
        for client in readers:
            client.close()
    with Session(pair.engine) as session:
        stars = [r.stars for r in session.exec(select(Rating))]
    assert stars == [5] * 24


def sign_in(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = http.get("/editor/login")
    token = csrf(form.text)
    data = {"email": email, "password": password, "csrf_token": token, "next": "/editor/"}
    return http.post("/editor/login", data=data)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def test_a_session_from_a_works_on_b_until_signed_out_on_a(pair: Pair) -> None:
    with pair.client(0) as a, pair.client(1) as b:
        assert sign_in(a, "eve@example.com").status_code == 303
        b.cookies.set("editorial_session", a.cookies["editorial_session"])
        page = b.get("/editor/")
        assert page.status_code == 200 and "Eve" in page.text
        moved = b.post("/editor/calendar/feed-link", data={"csrf_token": csrf(page.text)})
        assert moved.status_code == 200
        out = a.post("/editor/logout", data={"csrf_token": csrf(a.get("/editor/").text)})
        assert out.status_code == 303
        after = b.get("/editor/")
        assert after.status_code == 303 and "/editor/login" in after.headers["location"]
    pair.statuses += [page.status_code, moved.status_code, out.status_code, after.status_code]


def test_failed_sign_ins_are_counted_across_both_processes(pair: Pair) -> None:
    clients = [pair.client(i) for i in range(6)]
    try:
        failures = pair.run(
            [lambda c=c: sign_in(c, "eve@example.com", "wrong password") for c in clients[:5]]
        )
        assert [r.status_code for r in failures] == [401] * 5
        assert all("do not match" in r.text for r in failures)
        blocked = sign_in(clients[5], "eve@example.com")  # the right password, too late
        pair.statuses.append(blocked.status_code)
        assert blocked.status_code == 401 and "Too many failed sign-ins" in blocked.text
        assert "editorial_session" not in blocked.cookies
    finally:
        for client in clients:
            client.close()
