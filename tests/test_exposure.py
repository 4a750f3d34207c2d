"""Who may reach what: every route and every caller, and no unpublished text anywhere it should
not be — pages, API, search, feeds, sitemap, ICS, related links, the export, error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.main import create_app
from editorial.export import export_site
from editorial.ingest import ingest
from editorial.models import Piece
from editorial.settings import Settings
from tests.exposure_world import CALLERS, MISSING, PUBLISHED, World, build_world

FROZEN_PAST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STALE = {"base_version": 0}
UPLOAD = {"file": ("draft.md", b"---\ntitle: Upload\n---\n\nText.\n", "text/markdown")}


@dataclass(frozen=True)
class Row:
    """One request; `codes` are the statuses for anon, reader, own, other, editor."""

    method: str
    route: str
    codes: str
    path: str = ""
    json: Any = None
    data: Any = None
    files: Any = None


def R(method: str, route: str, codes: str, path: str = "", **body: Any) -> Row:
    return Row(
        method, route, codes, path or route, *(body.get(k) for k in ("json", "data", "files"))
    )


# anon reader own other editor; {slug} is the caller's probe draft (own: ada's, else bob's).
TABLE = [
    R("GET", "/openapi.json", "200 200 200 200 200"),
    R("GET", "/docs", "200 200 200 200 200"),
    R("GET", "/docs/oauth2-redirect", "200 200 200 200 200"),
    R("GET", "/redoc", "200 200 200 200 200"),
    R("GET", "/api/pieces/{slug}/ratings", "404 404 404 404 404"),
    R("POST", "/api/pieces/{slug}/ratings", "404 404 404 404 404", json={"stars": 3}),
    R("GET", "/api/pieces/{slug}/comments", "404 404 404 404 404"),
    R(
        "POST",
        "/api/pieces/{slug}/comments",
        "404 404 404 404 404",
        json={"name": "X", "body": "hello"},
    ),
    R("POST", "/pieces/{slug}/rate", "404 404 404 404 404", data={"stars": "3"}),
    R("POST", "/pieces/{slug}/comment", "404 404 404 404 404", data={"name": "X", "body": "hello"}),
    R("GET", "/healthz", "200 200 200 200 200"),
    R("GET", "/api/pieces", "200 200 200 200 200"),
    R("GET", "/api/pieces/{slug}", "404 404 404 404 404"),
    R("GET", "/static/{path:path}", "200 200 200 200 200", path="/static/site.css"),
    R("GET", "/editor/static/{path:path}", "200 200 200 200 200", path="/editor/static/editor.css"),
    R("GET", "/editor/login", "200 200 200 200 200"),
    R(
        "POST",
        "/editor/login",
        "400 400 400 400 400",
        data={"email": "x@example.com", "password": "wrong"},
    ),
    R("GET", "/editor/", "303 303 200 200 200"),
    R("POST", "/api/workflow/pieces", "401 401 422 422 422", json={}),
    R("GET", "/api/workflow/pieces", "401 401 200 200 200"),
    R("GET", "/api/workflow/review", "401 401 403 403 200"),
    R("POST", "/api/workflow/preview", "401 401 200 200 200", json={"body": "*hi*"}),
    R("GET", "/api/workflow/pieces/{slug}", "404 404 200 404 200"),
    R(
        "PATCH",
        "/api/workflow/pieces/{slug}",
        "404 404 403 404 409",
        json={**STALE, "title": "Changed"},
    ),
    R(
        "POST",
        "/api/workflow/pieces/{slug}/transition",
        "404 404 409 404 409",
        json={**STALE, "to": "review"},
    ),
    R(
        "POST",
        "/api/workflow/pieces/{slug}/drafts",
        "404 404 409 404 409",
        json={**STALE, "body": "x"},
    ),
    R(
        "POST",
        "/api/workflow/pieces/{slug}/drafts/upload",
        "404 404 409 404 409",
        data={"base_version": "0"},
        files=UPLOAD,
    ),
    R("GET", "/api/workflow/pieces/{slug}/revisions", "404 404 200 404 200"),
    R(
        "GET",
        "/api/workflow/pieces/{slug}/revisions/{number}",
        "404 404 200 404 200",
        path="/api/workflow/pieces/{slug}/revisions/1",
    ),
    R(
        "GET",
        "/api/workflow/pieces/{slug}/diff",
        "404 404 200 404 200",
        path="/api/workflow/pieces/{slug}/diff?from=1&to=2",
    ),
    R("GET", "/api/workflow/pieces/{slug}/notes", "404 404 200 404 200"),
    R("POST", "/api/workflow/pieces/{slug}/notes", "404 404 201 404 201", json={"body": "Fine."}),
    R("GET", "/editor/plan", "303 303 403 403 200"),
    R("POST", "/editor/plan", "303 303 403 403 422", data={}),
    R("GET", "/editor/pieces/{slug}", "303 303 200 404 200"),
    R("POST", "/editor/pieces/{slug}/planning", "303 303 403 404 409", data={"base_version": "0"}),
    R(
        "POST",
        "/editor/pieces/{slug}/transition",
        "303 303 409 404 409",
        data={"base_version": "0", "to": "review"},
    ),
    R("POST", "/editor/pieces/{slug}/notes", "303 303 422 404 422", data={"body": ""}),
    R("GET", "/editor/pieces/{slug}/draft", "303 303 200 404 200"),
    R(
        "POST",
        "/editor/pieces/{slug}/draft",
        "303 303 409 404 409",
        data={"base_version": "0", "body": "x"},
    ),
    R(
        "POST",
        "/editor/pieces/{slug}/upload",
        "303 303 409 404 409",
        data={"base_version": "0"},
        files=UPLOAD,
    ),
    R("GET", "/editor/pieces/{slug}/diff", "303 303 200 404 200"),
    R("GET", "/editor/assignments", "303 303 200 200 200"),
    R("GET", "/editor/review", "303 303 403 403 200"),
    R("GET", "/editor/review/{slug}", "303 303 403 403 200"),
    R("GET", "/api/feedback/audit", "401 401 403 403 200"),
    R("GET", "/api/feedback/low-rated", "401 401 403 403 200"),
    R("GET", "/api/feedback/comments", "401 401 403 403 200"),
    R(
        "POST",
        "/api/feedback/comments/moderate",
        "401 401 403 403 422",
        json={"ids": [], "action": "approve"},
    ),
    R("GET", "/editor/comments", "303 303 403 403 200"),
    R("POST", "/editor/comments", "303 303 403 403 400", data={}),
    R("GET", "/editor/audit", "303 303 403 403 200"),
    R("GET", "/api/calendar", "401 401 200 200 200"),
    R("GET", "/calendar.ics", "404 404 404 404 404"),
    R(
        "POST",
        "/api/calendar/reschedule",
        "401 401 404 404 404",
        json={"slug": "{slug}", "lane": "due", "date": "2026-06-09", "version": 0},
    ),
    R("GET", "/editor/calendar", "303 303 200 200 200"),
    R("POST", "/editor/calendar/reschedule", "303 303 422 422 422", data={}),
    R("POST", "/editor/calendar/feed-link", "303 303 200 200 200", data={"action": "none"}),
    R("GET", "/api/gaps", "401 401 403 403 200"),
    R("GET", "/api/gaps.csv", "401 401 403 403 200"),
    R("POST", "/api/gaps/commission", "401 401 403 403 422", json={}),
    R("GET", "/api/gaps/review-queue", "401 401 403 403 200"),
    R("GET", "/editor/gaps", "303 303 403 403 200"),
    R("POST", "/editor/gaps/commission", "303 303 403 403 422", data={}),
    R("GET", "/", "200 200 200 200 200"),
    R("GET", "/page/{number}/", "404 404 404 404 404", path="/page/2/"),
    R("GET", "/pieces/{slug}/", "404 404 404 404 404"),
    R("GET", "/authors/{slug}/", "404 404 404 404 404"),
    R(
        "GET",
        "/authors/{slug}/page/{number}/",
        "404 404 404 404 404",
        path="/authors/{slug}/page/2/",
    ),
    R("GET", "/feed.xml", "200 200 200 200 200"),
    R("GET", "/sitemap.xml", "200 200 200 200 200"),
    # a sitemap part exists only past 50,000 addresses; the split itself is tested in test_export
    R("GET", "/sitemap-{number}.xml", "404 404 404 404 404", path="/sitemap-1.xml"),
    R("GET", "/robots.txt", "200 200 200 200 200"),
    R("GET", "/audience/{term}/", "200 200 200 200 200", path="/audience/cio/"),
    R(
        "GET",
        "/audience/{term}/page/{number}/",
        "404 404 404 404 404",
        path="/audience/cio/page/2/",
    ),
    R("GET", "/audience/{term}/feed.xml", "200 200 200 200 200", path="/audience/cio/feed.xml"),
    R("GET", "/stage/{term}/", "200 200 200 200 200", path="/stage/awareness/"),
    R(
        "GET",
        "/stage/{term}/page/{number}/",
        "404 404 404 404 404",
        path="/stage/awareness/page/2/",
    ),
    R("GET", "/stage/{term}/feed.xml", "200 200 200 200 200", path="/stage/awareness/feed.xml"),
    R("GET", "/topic/{term}/", "200 200 200 200 200", path="/topic/cloud/"),
    R("GET", "/topic/{term}/page/{number}/", "404 404 404 404 404", path="/topic/cloud/page/2/"),
    R("GET", "/topic/{term}/feed.xml", "200 200 200 200 200", path="/topic/cloud/feed.xml"),
    R("GET", "/format/{term}/", "200 200 200 200 200", path="/format/blog-post/"),
    R(
        "GET",
        "/format/{term}/page/{number}/",
        "404 404 404 404 404",
        path="/format/blog-post/page/2/",
    ),
    R("GET", "/format/{term}/feed.xml", "200 200 200 200 200", path="/format/blog-post/feed.xml"),
    R("GET", "/api/pieces", "200 200 200 200 200", path="/api/pieces?q=SECRET"),
    R("GET", "/", "200 200 200 200 200", path="/?q=SECRET"),
    R("GET", "/pieces/{slug}/", "200 200 200 200 200", path="/pieces/cloud-basics/"),
    R("GET", "/api/pieces/{slug}", "200 200 200 200 200", path="/api/pieces/cloud-basics"),
    R(
        "GET",
        "/api/pieces/{slug}/comments",
        "200 200 200 200 200",
        path="/api/pieces/cloud-basics/comments",
    ),
    R("GET", "/authors/{slug}/", "200 200 200 200 200", path="/authors/dana-reyes/"),
    R("GET", "/calendar.ics", "404 404 404 404 404", path="/calendar.ics?token=guess"),
    R("GET", "/api/calendar", "401 401 200 200 200", path="/api/calendar?q=SECRET"),
    R("POST", "/editor/logout", "303 303 303 303 303"),
]


def routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, including routers included into it."""
    found: set[tuple[str, str]] = set()

    def walk(items: list[Any], prefix: str) -> None:
        for item in items:
            if hasattr(item, "original_router"):
                walk(item.original_router.routes, prefix + item.include_context.prefix)
                continue
            for method in getattr(item, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, prefix + item.path))

    walk(app.routes, "")
    return found


def call(world: World, caller: str, row: Row, slug: str) -> Any:
    client = world.clients[caller]
    if caller == "anon":
        client.cookies.clear()
    headers = {"X-CSRF-Token": world.csrf[caller]} if caller in world.csrf else {}
    if row.method != "GET" and caller in world.csrf:
        headers["Origin"] = "http://testserver"
    path = row.path.replace("{slug}", slug)
    return client.request(
        row.method,
        path,
        json=row.json,
        data=row.data,
        files=row.files,
        headers=headers,
        follow_redirects=False,
    )


def leaks(response: Any, forbidden: set[str], path: str) -> list[str]:
    text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return [s for s in forbidden if s in text and s not in path]


@pytest.fixture
def world(settings: Settings, engine: Engine, content_dir: Path) -> Any:
    with build_world(settings, engine, content_dir) as world:
        yield world


def test_every_route_has_a_row(settings: Settings, engine: Engine) -> None:
    """A new route fails here until its expected answer per caller is written in TABLE."""
    assert routes(create_app(settings)) == {(row.method, row.route) for row in TABLE}


def test_every_caller_gets_its_answer_and_no_secret(world: World) -> None:
    wrong, leaked, seen = [], [], set()
    for row in TABLE:
        for caller, expected in zip(CALLERS, row.codes.split(), strict=True):
            slug = world.slug_for(caller)
            response = call(world, caller, row, slug)
            seen |= {s for s in world.forbidden("anon") if s in response.text}
            if str(response.status_code) != expected:
                wrong.append(f"{caller} {row.method} {row.path}: {response.status_code}")
            found = leaks(response, world.forbidden(caller), row.path.replace("{slug}", slug))
            leaked += [f"{caller} {row.method} {row.path}: {s}" for s in found]
    assert not leaked
    assert not wrong
    assert seen == world.forbidden("anon"), "the secrets are there for those who may see them"


def test_unpublished_and_missing_answer_alike(world: World) -> None:
    """Status and body are the same for a draft as for no piece at all (slug aside)."""
    differ = []
    for row in [r for r in TABLE if "{slug}" in r.path and r.method == "GET"]:
        for caller in ("anon", "reader", "other"):
            draft = call(world, caller, row, world.slug_for(caller))
            missing = call(world, caller, row, MISSING)
            same_text = draft.text.replace(world.slug_for(caller), "*") == missing.text.replace(
                MISSING, "*"
            )
            if draft.status_code != missing.status_code or not same_text:
                differ.append(f"{caller} {row.path}: {draft.status_code}/{missing.status_code}")
    assert not differ
    assert all(r.codes.split()[0] != "403" for r in TABLE if "{slug}" in r.path)


def test_a_contributors_calendar_feed_holds_only_what_they_may_see(world: World) -> None:
    ada = world.clients["own"]
    page = ada.post("/editor/calendar/feed-link", data={"csrf_token": world.csrf["own"]})
    link = re.search(r"calendar\.ics\?token=[^\"'<&\s]+", page.text)
    assert link, "the feed-link page shows the private address"
    feed = world.clients["anon"].get("/" + link.group(0))
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    assert not [s for s in world.forbidden("own") if s in feed.text]


def test_the_export_holds_no_unpublished_text(
    world: World, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_site(engine, settings, out, full=True)
    secrets = world.forbidden("anon")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files) and len(files) > 5
    found = {
        str(p.relative_to(out)): s for p in files for s in secrets if s in p.read_text("latin-1")
    }
    named = [str(p) for p in files if any(s in str(p) for s in secrets)]
    assert not found and not named


XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_script_in_every_user_field_comes_out_escaped(world: World, engine: Engine) -> None:
    eve, token = world.clients["editor"], {"X-CSRF-Token": world.csrf["editor"]}
    plan = {"title": f"Shown {XSS}", "summary": f"Sum {XSS}", "assignee": "ada@example.com"}
    plan |= {"audience": "cio", "stage": "awareness", "topic": "cloud", "format": "blog-post"}
    created = eve.post("/api/workflow/pieces", json=plan, headers=token)
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    note = eve.post(f"/api/workflow/pieces/{slug}/notes", json={"body": XSS}, headers=token)
    assert note.status_code == 201
    said = {"name": f"N {XSS}", "body": f"B {XSS}"}
    posted = world.clients["anon"].post(f"/api/pieces/{PUBLISHED}/comments", json=said)
    verdict = {"ids": [posted.json()["id"]], "action": "approve"}
    assert eve.post("/api/feedback/comments/moderate", json=verdict, headers=token).is_success
    with Session(engine) as session:
        piece = session.exec(select(Piece).where(Piece.slug == slug)).one()
        piece.status, piece.publish_at, piece.body = "published", FROZEN_PAST, "Text."
        session.add(piece)
        session.commit()
    pages = [f"/editor/pieces/{slug}", f"/editor/review/{slug}", "/editor/plan", "/editor/audit"]
    pages += ["/editor/calendar", "/editor/assignments", "/editor/review", "/editor/comments"]
    pages += ["/", f"/pieces/{slug}/", f"/pieces/{PUBLISHED}/", "/feed.xml", "/topic/cloud/"]
    raw, shown = [], 0
    for page in pages:
        text = eve.get(page).text
        raw += [page for bad in ("<script>alert", "<img src=x") if bad in text]
        shown += "&lt;script&gt;alert(1)" in text or "&amp;lt;script" in text
    assert not raw
    assert shown >= len(pages) // 2, "the payloads do appear, escaped"


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2F..%2F..%2Fpyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/editor/static/..%2F..%2F..%2F..%2Fpyproject.toml",
        "/static/....//....//pyproject.toml",
        "/pieces/..%2F..%2Fpyproject.toml/",
        "/api/pieces/..%2F..%2Fpyproject.toml",
        "/api/pieces/%2e%2e/ratings",
    ],
)
def test_traversal_in_paths_and_slugs_is_refused(world: World, path: str) -> None:
    response = world.clients["anon"].get(path)
    assert response.status_code == 404 and "[project]" not in response.text


def test_an_uploads_file_name_is_never_a_path(world: World, content_dir: Path) -> None:
    ada, token = world.clients["own"], {"X-CSRF-Token": world.csrf["own"]}
    version = ada.get(f"/api/workflow/pieces/{world.own}").json()["version"]
    upload = {"file": ("../../../escaped.md", UPLOAD["file"][1], "text/markdown")}
    url = f"/api/workflow/pieces/{world.own}/drafts/upload"
    response = ada.post(url, files=upload, data={"base_version": str(version)}, headers=token)
    assert response.status_code in (200, 422), response.text
    assert not list(content_dir.parent.parent.rglob("escaped.md"))


def test_aliases_cannot_leave_the_export(
    world: World, engine: Engine, settings: Settings, content_dir: Path, tmp_path: Path
) -> None:
    post = content_dir / "posts" / "cloud-basics.md"
    aliases = "aliases: [../../outside-a.html, /../../outside-b/, ..\\\\outside-c.html]"
    post.write_text(re.sub(r"aliases: .*", aliases, post.read_text()))
    ingest(engine, content_dir)
    out = tmp_path / "deep" / "out"
    report = export_site(engine, settings, out, full=True)
    assert len([e for e in report.errors if "is not a safe site path" in e]) == 3
    assert not [p for p in tmp_path.rglob("outside*") if out not in p.parents]
