"""The workflow through HTTP: the whole path, the permission matrix, conflicts, uploads, diffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.routers.workflow import InputRefused, ShapeRefused
from editorial import clock
from editorial.auth import create_user, issue_token
from editorial.models import Piece
from editorial.workflow import CONTRIBUTOR_MOVES, TRANSITIONS

API = "/api/workflow"
PLAN = {
    "title": "Cloud costs for CFOs",
    "audience": "finance",
    "stage": "awareness",
    "topic": "cloud",
    "format": "blog-post",
    "assignee": "ada@example.com",
    "due_at": "2026-06-10",
    "brief": "Explain where cloud money goes.",
}
DRAFT_FILE = """---
title: Cloud costs, explained
audience: [finance, cio]
summary: Where the money goes.
---

Cloud bills grow quietly.
"""


@pytest.fixture
def auth(engine: Engine) -> dict[str, dict[str, str]]:
    """Bearer headers for an editor and two contributors; anonymous has none."""
    headers = {"anonymous": {}}
    with Session(engine) as session:
        for name, role in (("eve", "editor"), ("ada", "contributor"), ("bob", "contributor")):
            user = create_user(session, name.title(), f"{name}@example.com", role, None)
            headers[name] = {"Authorization": f"Bearer {issue_token(session, user)}"}
        session.commit()
    return headers


def planned(client: TestClient, auth: dict, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/pieces", json=PLAN | fields, headers=auth["eve"])
    assert response.status_code == 201, response.text
    return response.json()


def move(client: TestClient, headers: dict, piece: dict, to: str, **extra: Any) -> Any:
    body = {"to": to, "base_version": piece["version"]} | extra
    return client.post(f"{API}/pieces/{piece['slug']}/transition", json=body, headers=headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_whole_path_from_plan_to_public(
    client: TestClient, auth: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    piece = planned(client, auth, assignee=None)
    slug = piece["slug"]
    assert ok(client.get(f"{API}/pieces", headers=auth["ada"])) == []
    piece = ok(
        client.patch(
            f"{API}/pieces/{slug}",
            json={"assignee": "ada@example.com", "base_version": 1},
            headers=auth["eve"],
        )
    )
    assert piece["assignee"] == "ada@example.com"
    mine = ok(client.get(f"{API}/pieces", headers=auth["ada"]))
    assert [p["slug"] for p in mine] == [slug]
    assert mine[0]["brief"] == PLAN["brief"]
    piece = ok(
        client.post(
            f"{API}/pieces/{slug}/drafts",
            json={"base_version": 2, "body": "First try.\n", "submit": True},
            headers=auth["ada"],
        )
    )
    assert (piece["status"], piece["version"]) == ("review", 3)
    assert [p["slug"] for p in ok(client.get(f"{API}/review", headers=auth["eve"]))] == [slug]
    piece = ok(move(client, auth["eve"], piece, "draft", note="Add the numbers."))
    notes = ok(client.get(f"{API}/pieces/{slug}/notes", headers=auth["ada"]))
    assert [(n["kind"], n["body"]) for n in notes][-1] == ("changes", "Add the numbers.")
    upload = {"file": ("draft.md", DRAFT_FILE.encode(), "text/markdown")}
    piece = ok(
        client.post(
            f"{API}/pieces/{slug}/drafts/upload",
            files=upload,
            data={"base_version": str(piece["version"]), "submit": "true"},
            headers=auth["ada"],
        )
    )
    assert (piece["status"], piece["title"]) == ("review", "Cloud costs, explained")
    assert piece["terms"]["audience"] == ["cio", "finance"]
    piece = ok(move(client, auth["eve"], piece, "approved"))
    publish = start + timedelta(days=3)
    piece = ok(move(client, auth["eve"], piece, "scheduled", publish_at=publish.isoformat()))
    assert piece["status"] == "scheduled"
    assert client.get(f"/api/pieces/{slug}").status_code == 404
    assert client.get(f"/pieces/{slug}/").status_code == 404
    monkeypatch.setattr(clock, "now", lambda: publish)
    public = ok(client.get(f"/api/pieces/{slug}"))
    assert "Cloud bills grow quietly." in public["html"]
    assert "notes" not in public and "brief" not in public
    page = client.get(f"/pieces/{slug}/")
    assert page.status_code == 200 and "Add the numbers." not in page.text
    revisions = ok(client.get(f"{API}/pieces/{slug}/revisions", headers=auth["eve"]))
    assert [(r["number"], r["origin"]) for r in revisions] == [
        (1, "api"),
        (2, "api"),
        (3, "api"),
        (4, "api"),
        (5, "upload"),
        (6, "api"),
        (7, "api"),
    ]


@pytest.fixture
def piece_at(client: TestClient, auth: dict, engine: Engine, frozen_clock):
    """A piece assigned to ada, put straight into a given status; dated a month after the
    frozen clock's moment, so that it may be scheduled."""

    def make(status: str, title: str) -> dict[str, Any]:
        piece = planned(client, auth, title=title, publish_at="2026-07-01T00:00")
        with Session(engine) as session:
            row = session.exec(select(Piece).where(Piece.slug == piece["slug"])).one()
            row.status = status
            session.add(row)
            session.commit()
        return piece

    return make


EDGES = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]


@pytest.mark.parametrize("role", ["anonymous", "ada", "bob", "eve"])
def test_every_role_on_every_transition(piece_at, client: TestClient, auth: dict, role) -> None:
    for number, (source, target) in enumerate(EDGES):
        piece = piece_at(source, f"Edge {number}")
        response = move(client, auth[role], piece, target, note="Because.")
        if role in ("anonymous", "bob"):
            expected = 404
        elif role == "eve" or (source, target) in CONTRIBUTOR_MOVES:
            expected = 200
        else:
            expected = 409
        assert response.status_code == expected, (role, source, target, response.text)
        if expected == 409:
            allowed = response.json()["detail"]["allowed"]
            assert allowed == [t for t in TRANSITIONS[source] if (source, t) in CONTRIBUTOR_MOVES]


def piece_endpoints(slug: str, version: int) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"{API}/pieces/{slug}"
    return [
        ("GET", base, {}),
        ("PATCH", base, {"json": {"base_version": version, "summary": "S"}}),
        ("POST", f"{base}/drafts", {"json": {"base_version": version, "body": "Text"}}),
        (
            "POST",
            f"{base}/drafts/upload",
            {"files": {"file": ("d.md", DRAFT_FILE.encode())}, "data": {"base_version": version}},
        ),
        ("GET", f"{base}/revisions", {}),
        ("GET", f"{base}/revisions/1", {}),
        ("GET", f"{base}/diff?from=1&to=1", {}),
        ("GET", f"{base}/notes", {}),
        ("POST", f"{base}/notes", {"json": {"body": "A note"}}),
    ]


EXPECTED = {
    # role -> status per endpoint, in piece_endpoints order; ada may not change planning fields
    "anonymous": [404] * 9,
    "bob": [404] * 9,
    "ada": [200, 403, 200, 200, 200, 200, 200, 200, 201],
    "eve": [200, 200, 200, 200, 200, 200, 200, 200, 201],
}


@pytest.mark.parametrize("status", ["planned", "published"])
@pytest.mark.parametrize("role", ["anonymous", "ada", "bob", "eve"])
def test_every_role_on_every_piece_endpoint(
    piece_at, client: TestClient, auth: dict, role: str, status: str
) -> None:
    expected = list(EXPECTED[role])
    if role == "ada" and status == "published":
        expected[2:4] = [403, 403]  # a writer cannot rewrite a published piece
    for index, (method, url, kwargs) in enumerate(piece_endpoints("x", 1)):
        piece = piece_at(status, f"Endpoint {index}")
        url = url.replace("/pieces/x", f"/pieces/{piece['slug']}")
        response = client.request(method, url, headers=auth[role], **kwargs)
        assert response.status_code == expected[index], (role, method, url, response.text)


@pytest.mark.parametrize(
    ("method", "url", "codes"),
    [
        ("POST", f"{API}/pieces", {"anonymous": 401, "ada": 403, "eve": 201}),
        ("GET", f"{API}/pieces", {"anonymous": 401, "ada": 200, "eve": 200}),
        ("GET", f"{API}/review", {"anonymous": 401, "ada": 403, "eve": 200}),
        ("POST", f"{API}/preview", {"anonymous": 401, "ada": 200, "eve": 200}),
    ],
)
def test_collections_need_a_sign_in(client, auth, method, url, codes) -> None:
    body = PLAN if url.endswith("/pieces") else {"body": "*hi*"}
    for role, code in codes.items():
        response = client.request(method, url, headers=auth[role], json=body)
        assert response.status_code == code, (role, response.text)


def test_contributors_list_only_their_own(client: TestClient, auth: dict) -> None:
    planned(client, auth, title="For Ada")
    planned(client, auth, title="For Bob", assignee="bob@example.com")
    for who, title in (("ada", "For Ada"), ("bob", "For Bob")):
        listed = ok(client.get(f"{API}/pieces", headers=auth[who]))
        assert [p["title"] for p in listed] == [title]
    assert len(ok(client.get(f"{API}/pieces", headers=auth["eve"]))) == 2


def test_a_stale_base_version_answers_409_with_the_current_piece(client, auth) -> None:
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    ok(client.patch(url, json={"base_version": 1, "title": "Newer"}, headers=auth["eve"]))
    stale = client.patch(url, json={"base_version": 1, "title": "Older"}, headers=auth["eve"])
    assert stale.status_code == 409
    current = stale.json()["detail"]["current"]
    assert (current["title"], current["version"]) == ("Newer", 2)
    draft = client.post(f"{url}/drafts", json={"base_version": 1, "body": "x"}, headers=auth["ada"])
    assert draft.status_code == 409 and draft.json()["detail"]["current"]["version"] == 2
    assert ok(client.get(url, headers=auth["eve"]))["title"] == "Newer"


def test_a_patch_that_changes_nothing_keeps_the_version(client, auth) -> None:
    """Each such PATCH used to add a revision ("planning: ") and bump the version."""
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    assert ok(client.patch(url, json={"base_version": 1}, headers=auth["eve"]))["version"] == 1
    same = PLAN | {"base_version": 1, "audience": ["finance"], "assignee": "ADA@example.com"}
    assert ok(client.patch(url, json=same, headers=auth["eve"]))["version"] == 1
    assert len(ok(client.get(f"{url}/revisions", headers=auth["eve"]))) == 1
    stale = client.patch(url, json={"base_version": 0}, headers=auth["eve"])
    assert stale.status_code == 409
    moved = PLAN | {"base_version": 1, "due_at": "2026-06-11"}
    assert ok(client.patch(url, json=moved, headers=auth["eve"]))["version"] == 2


def test_upload_errors_are_reported_by_field(client, auth, settings) -> None:
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}/drafts/upload"

    def upload(name: str, text: str | bytes) -> Any:
        raw = text.encode() if isinstance(text, str) else text
        return client.post(
            url, files={"file": (name, raw)}, data={"base_version": "1"}, headers=auth["ada"]
        )

    bad = upload("d.md", "---\naudience: cfo\ndate: someday\n---\nBody\n")
    assert bad.status_code == 422
    errors = bad.json()["detail"]["errors"]
    assert set(errors) == {"title", "audience", "date"}
    assert "did you mean" in errors["audience"] and errors["date"].startswith("line 3: ")
    assert set(upload("notes.txt", DRAFT_FILE).json()["detail"]["errors"]) == {"file"}
    assert set(upload("d.md", "no front matter").json()["detail"]["errors"]) == {"file"}
    huge = DRAFT_FILE + "x" * settings.max_upload_bytes
    assert "KiB" in upload("d.md", huge).json()["detail"]["errors"]["file"]
    assert ok(client.get(f"{API}/pieces/{piece['slug']}", headers=auth["eve"]))["version"] == 1


def test_text_no_feed_could_carry_is_refused_by_field(client, auth) -> None:
    """A control character in a title would make every feed listing the piece unreadable."""
    refused = client.post(
        f"{API}/pieces", json=PLAN | {"title": "Cloud\u000bcosts"}, headers=auth["eve"]
    )
    assert refused.status_code == 422
    assert "U+000B" in refused.json()["detail"]["errors"]["title"]
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    patched = client.patch(
        url, json={"base_version": 1, "summary": "a\u001bb"}, headers=auth["eve"]
    )
    assert set(patched.json()["detail"]["errors"]) == {"summary"}
    body = {"base_version": 1, "title": "Fine", "body": "Page\u000cbreak"}
    draft = client.post(f"{url}/drafts", json=body, headers=auth["ada"])
    assert draft.status_code == 422 and set(draft.json()["detail"]["errors"]) == {"body"}
    assert ok(client.get(url, headers=auth["eve"]))["version"] == 1


def test_review_notes_no_page_could_carry_are_refused_by_field(client, auth) -> None:
    """A NUL in a note failed on PostgreSQL with a 500; SQLite stored it."""
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    note = client.post(f"{url}/notes", json={"body": "Nearly\u0000"}, headers=auth["ada"])
    assert note.status_code == 422 and set(note.json()["detail"]["errors"]) == {"body"}
    moved = move(client, auth["ada"], piece, "draft", note="Starting\u000b")
    assert moved.status_code == 422 and set(moved.json()["detail"]["errors"]) == {"note"}
    assert ok(client.get(f"{url}/notes", headers=auth["eve"])) == []
    assert ok(client.get(url, headers=auth["eve"]))["version"] == 1


@pytest.mark.parametrize("address", ["/pieces/%00", "/pieces?status=%00", "/pieces/a%00/notes"])
def test_a_nul_in_an_address_is_refused_not_a_crash(client, auth, address) -> None:
    """PostgreSQL cannot hold NUL in text: such a slug or filter reached a query and failed."""
    response = client.get(API + address, headers=auth["eve"])
    assert response.status_code == 422
    [error] = ShapeRefused.model_validate(response.json()).detail
    assert error.loc == (["query", "status"] if "?" in address else ["path"])


def test_a_date_past_the_end_of_the_calendar_is_refused_by_field(client, auth) -> None:
    due = "9999-12-31T23:00:00-05:00"  # past Python's last day once in UTC: it used to answer 500
    refused = client.post(f"{API}/pieces", json=PLAN | {"due_at": due}, headers=auth["eve"])
    assert refused.status_code == 422
    assert "out of range" in refused.json()["detail"]["errors"]["due_at"]


def test_both_kinds_of_422_match_the_documented_schema(client, auth) -> None:
    """A refusal by field and FastAPI's own validation error are both in each route's OpenAPI
    answer for 422, and the bodies sent match the models named there."""
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}/drafts/upload"
    form = {"base_version": "1"}
    refused = client.post(
        url, files={"file": ("d.md", b"no front matter")}, data=form, headers=auth["ada"]
    )
    shapeless = client.post(url, data=form, headers=auth["ada"])  # no file at all
    assert (refused.status_code, shapeless.status_code) == (422, 422)
    InputRefused.model_validate(refused.json())
    ShapeRefused.model_validate(shapeless.json())
    with pytest.raises(ValidationError):
        InputRefused.model_validate(shapeless.json())
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items() if path.startswith(API) else ():
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            named = {ref["$ref"].rsplit("/", 1)[1] for ref in schema["anyOf"]}
            assert named == {"InputRefused", "ShapeRefused"}, (method, path)


def test_fields_the_workflow_does_not_know_are_refused_not_dropped(client, auth) -> None:
    """Unknown keys used to vanish before the domain could refuse them, with a 200 or 201."""
    wanted = {"slug": "wanted", "due": "2027-01-01", "audiences": ["finance"]}
    refused = client.post(f"{API}/pieces", json={"title": "x"} | wanted, headers=auth["eve"])
    assert refused.status_code == 422
    named = {e.loc[-1] for e in ShapeRefused.model_validate(refused.json()).detail}
    assert named == set(wanted)
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    body = {"base_version": 1, "slug": "hacked", "bogus": 1}
    patched = client.patch(url, json=body, headers=auth["eve"])
    assert patched.status_code == 422
    assert {e["loc"][-1] for e in patched.json()["detail"]} == {"slug", "bogus"}
    moved = move(client, auth["eve"], piece, "draft", status="published")
    assert moved.status_code == 422
    assert ok(client.get(url, headers=auth["eve"]))["version"] == 1
    assert client.get(f"{API}/pieces/hacked", headers=auth["eve"]).status_code == 404


def test_any_two_revisions_compare_as_a_diff(client, auth) -> None:
    piece = planned(client, auth)
    url = f"{API}/pieces/{piece['slug']}"
    for version, body in ((1, "One line.\n"), (2, "One line.\nTwo lines.\n")):
        ok(
            client.post(
                f"{url}/drafts", json={"base_version": version, "body": body}, headers=auth["ada"]
            )
        )
    result = ok(client.get(f"{url}/diff", params={"from": 2, "to": 3}, headers=auth["ada"]))
    assert "+Two lines.\n" in result["diff"] and "-One line." not in result["diff"]
    assert (
        "-status: planned\n+status: draft\n"
        in ok(client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=auth["eve"]))["diff"]
    )
    missing = client.get(f"{url}/diff", params={"from": 1, "to": 9}, headers=auth["eve"])
    assert missing.status_code == 422 and set(missing.json()["detail"]["errors"]) == {"to"}
    for huge in (2**31, 99999999999999999999999):  # past a 32-bit column: no such revision
        beyond = client.get(f"{url}/diff", params={"from": 1, "to": huge}, headers=auth["eve"])
        assert beyond.status_code == 422 and set(beyond.json()["detail"]["errors"]) == {"to"}


def test_preview_uses_the_site_renderer(client, auth) -> None:
    response = ok(
        client.post(
            f"{API}/preview",
            json={"body": "# T\n\n*b*\n\n<script>x</script>\n"},
            headers=auth["ada"],
        )
    )
    assert "<em>b</em>" in response["html"] and "<script>" not in response["html"]
