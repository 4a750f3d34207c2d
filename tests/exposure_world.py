"""A store with known secrets, and one client per kind of caller, for tests/test_exposure.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from editorial.ingest import ingest
from editorial.settings import Settings
from tests.feedback_support import csrf_of, make_user, sign_in

API = "/api/workflow"
PUBLISHED = "cloud-basics"
MISSING = "no-such-piece-at-all"
CALLERS = ("anon", "reader", "own", "other", "editor")


@dataclass
class World:
    """The clients by caller, the slugs of the two drafts, and what each must never see."""

    clients: dict[str, TestClient]
    csrf: dict[str, str]
    own: str = ""
    other: str = ""
    secrets: dict[str, set[str]] = field(default_factory=dict)

    def slug_for(self, caller: str) -> str:
        """The draft each caller probes: contributors their own or another's, others bob's."""
        return self.own if caller == "own" else self.other

    def forbidden(self, caller: str) -> set[str]:
        """Secrets that must not reach `caller` (the contributor may see their own draft)."""
        if caller == "editor":
            return set()
        hidden = self.secrets["other"] | self.secrets["pending"]
        return hidden if caller in ("own", "other") else hidden | self.secrets["own"]


def _draft(world: World, eve: dict, writer: dict, name: str, assignee: str) -> str:
    """A piece planned by the editor, drafted by `assignee`, with a review note: all secret."""
    eve_client = world.clients["anon"]
    upper = name.upper()
    plan = {"title": f"SECRET-{upper}-TITLE", "summary": f"SECRET-{upper}-SUMMARY"}
    plan |= {"audience": "cio", "stage": "awareness", "topic": "cloud", "format": "blog-post"}
    plan |= {"assignee": assignee, "brief": f"SECRET-{upper}-BRIEF", "publish_at": "2026-05-01"}
    created = eve_client.post(f"{API}/pieces", json=plan, headers=eve)
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    moved = eve_client.post(
        f"{API}/pieces/{slug}/transition", json={"to": "draft", "base_version": 1}, headers=writer
    )
    assert moved.status_code == 200, moved.text
    body = {"base_version": moved.json()["version"], "body": f"SECRET-{upper}-BODY\n"}
    assert eve_client.post(f"{API}/pieces/{slug}/drafts", json=body, headers=writer).is_success
    note = {"body": f"SECRET-{upper}-NOTE"}
    assert eve_client.post(f"{API}/pieces/{slug}/notes", json=note, headers=eve).is_success
    world.secrets[name] = {slug, *(f"SECRET-{upper}-{k}" for k in ("TITLE", "SUMMARY", "BRIEF"))}
    world.secrets[name] |= {f"SECRET-{upper}-{k}" for k in ("BODY", "NOTE")}
    return slug


@contextmanager
def build_world(settings: Settings, engine: Engine, content_dir: Path) -> Iterator[World]:
    """The fixture site plus two secret drafts (ada's and bob's) and a pending comment."""
    assert not ingest(engine, content_dir).errors
    with ExitStack() as stack:
        clients = {c: stack.enter_context(TestClient(create_app(settings))) for c in CALLERS}
        world = World(clients, {})
        tokens = {n: make_user(engine, r, f"{n}@example.com") for n, r in _PEOPLE.items()}
        bearer = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
        world.own = _draft(world, bearer["eve"], bearer["ada"], "own", "ada@example.com")
        world.other = _draft(world, bearer["eve"], bearer["bob"], "other", "bob@example.com")
        pending = {"name": "Pat", "body": "SECRET-PENDING-COMMENT"}
        anon = world.clients["anon"]
        assert anon.post(f"/api/pieces/{PUBLISHED}/comments", json=pending).status_code == 201
        anon.cookies.clear()
        world.secrets["pending"] = {"SECRET-PENDING-COMMENT"}
        reader = world.clients["reader"]
        assert reader.post(f"/api/pieces/{PUBLISHED}/ratings", json={"stars": 4}).is_success
        for caller, email in (("own", "ada"), ("other", "ada"), ("editor", "eve")):
            sign_in(world.clients[caller], f"{email}@example.com")
            world.csrf[caller] = csrf_of(world.clients[caller].get("/editor/").text)
        yield world


_PEOPLE = {"eve": "editor", "ada": "contributor", "bob": "contributor"}
