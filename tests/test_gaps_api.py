"""The gap report over HTTP: editors only, JSON and CSV agreeing, commissioning, review queue."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from editorial.auth import create_user, issue_token, start_session
from editorial.ingest import ingest
from editorial.models import Piece, Rating, Revision, User

FIELDS = ("audience", "stage", "topic", "published", "fresh", "planned", "target", "gap")
ENDPOINTS = ["/api/gaps", "/api/gaps.csv", "/api/gaps/review-queue"]


@pytest.fixture
def headers(engine: Engine, content_dir: Path, frozen_clock: datetime) -> dict[str, dict]:
    """The fixture site ingested; Bearer headers for an editor and a contributor."""
    assert not ingest(engine, content_dir).errors
    found: dict[str, dict] = {"anonymous": {}}
    with Session(engine) as session:
        for name, role in (("eve", "editor"), ("ada", "contributor")):
            user = create_user(session, name.title(), f"{name}@example.com", role, None)
            found[name] = {"Authorization": f"Bearer {issue_token(session, user)}"}
        session.commit()
    return found


@pytest.fixture
def editor(client: TestClient, headers: dict[str, dict]) -> TestClient:
    client.headers.update(headers["eve"])
    return client


def cell(body: dict, audience: str, stage: str, topic: str) -> dict:
    return next(
        c
        for c in body["cells"]
        if (c["audience"], c["stage"], c["topic"]) == (audience, stage, topic)
    )


@pytest.mark.parametrize("path", [*ENDPOINTS, "/api/gaps/commission"])
def test_editors_only(client: TestClient, headers: dict[str, dict], path: str) -> None:
    def call(who: str) -> int:
        if path.endswith("commission"):
            body = {"audience": "cio", "stage": "purchase", "topic": "cloud"}
            return client.post(path, json=body, headers=headers[who]).status_code
        return client.get(path, headers=headers[who]).status_code

    assert call("anonymous") == 401
    assert call("ada") == 403


def test_the_full_cube_in_the_designs_shape(editor: TestClient) -> None:
    body = editor.get("/api/gaps").json()
    assert set(body) >= {"cells", "recommendations"}
    assert len(body["cells"]) == 3 * 3 * 2
    assert all(set(FIELDS) <= set(c) for c in body["cells"])
    stale = cell(body, "cio", "awareness", "cloud")
    assert (stale["published"], stale["fresh"], stale["gap"], stale["state"]) == (1, 0, 1, "stale")
    assert stale["priority"] == 3.0  # cio weighs 3
    first = body["recommendations"][0]
    assert (first["audience"], first["priority"]) == ("cio", 3.0)


def test_topic_slice_and_errors_that_say_what_to_do(editor: TestClient) -> None:
    cloud = editor.get("/api/gaps", params={"topic": "cloud"}).json()
    assert len(cloud["cells"]) == 9
    assert {c["topic"] for c in cloud["cells"]} == {"cloud"}
    assert {r["topic"] for r in cloud["recommendations"]} == {"cloud"}
    wrong = editor.get("/api/gaps", params={"topic": "clod"})
    assert wrong.status_code == 422
    assert "unknown topic 'clod'; did you mean 'cloud'?" in wrong.json()["detail"]
    bad_date = editor.get("/api/gaps", params={"as_of": "yesterday"})
    assert bad_date.status_code == 422
    assert "write it as YYYY-MM-DD" in bad_date.json()["detail"]
    for edge in ("9999-12-31", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"):
        for path in ("/api/gaps", "/api/gaps/review-queue"):  # these answered 500
            far = editor.get(path, params={"as_of": edge})
            assert far.status_code == 422 and "out of range" in far.json()["detail"], path


def test_csv_and_json_agree(editor: TestClient) -> None:
    for params in ({}, {"topic": "analytics"}, {"as_of": "2025-03-15"}):
        body = editor.get("/api/gaps", params=params).json()
        response = editor.get("/api/gaps.csv", params=params)
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == len(body["cells"])
        for row, item in zip(rows, body["cells"], strict=True):
            assert row == {k: str(v) for k, v in item.items()}


def test_as_of_shows_the_past(editor: TestClient) -> None:
    then = editor.get("/api/gaps", params={"as_of": "2025-03-15"}).json()
    assert then["as_of"].startswith("2025-03-15T23:59:59")
    assert cell(then, "cio", "awareness", "cloud")["fresh"] == 1  # two weeks old then
    assert cell(then, "finance", "awareness", "cloud")["published"] == 0  # out on 1 April


def test_cheap_fills_vary_a_core_piece_for_other_audiences(editor: TestClient) -> None:
    recommendations = editor.get("/api/gaps", params={"limit": 100}).json()["recommendations"]
    fills = {(r["audience"], r["stage"], r["topic"]): r["derived_from"] for r in recommendations}
    assert fills[("sales", "awareness", "cloud")] == "cloud-basics"
    assert fills[("finance", "awareness", "cloud")] is None  # it has its variant already
    assert fills[("cio", "awareness", "cloud")] is None  # the core's own cell: refresh it
    assert fills[("sales", "purchase", "cloud")] is None  # no core at that stage
    sales = next(r for r in recommendations if r["audience"] == "sales" and r["cheap_fill"])
    assert sales["title"] == "Cloud basics for the CIO — for Sales"


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_commission_creates_exactly_one_planned_piece(editor: TestClient, engine: Engine) -> None:
    before = count(engine, Piece), count(engine, Revision)
    body = {
        "audience": "sales",
        "stage": "Awareness",
        "topic": "cloud",
        "derived_from": "cloud-basics",
    }
    response = editor.post("/api/gaps/commission", json=body)
    assert response.status_code == 201, response.text
    piece = response.json()
    assert (count(engine, Piece), count(engine, Revision)) == (before[0] + 1, before[1] + 1)
    assert piece["status"] == "planned"
    assert piece["derived_from"] == "cloud-basics"
    assert piece["terms"] == {
        "audience": ["sales"],
        "format": ["blog-post"],
        "stage": ["awareness"],
        "topic": ["cloud"],
    }
    assert piece["publish_at"] == "2026-06-08T09:00:00Z"  # the next week with room
    with Session(engine) as session:
        stored = session.exec(select(Piece).where(Piece.slug == piece["slug"])).one()
        revision = session.exec(select(Revision).where(Revision.piece_id == stored.id)).one()
    assert (revision.origin, revision.actor, revision.number) == ("api", "eve@example.com", 1)
    assert revision.front_matter["derived_from"] == "cloud-basics"
    assert stored.front_matter["brief"].startswith(
        "A piece for the Awareness stage, on Cloud, for Sales. Personalise '"
    )
    after = editor.get("/api/gaps").json()
    filled = cell(after, "sales", "awareness", "cloud")
    assert (filled["planned"], filled["gap"], filled["state"]) == (1, 0, "only planned")
    again = editor.post("/api/gaps/commission", json=body).json()
    assert again["slug"] == f"{piece['slug']}-2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "cfo"}, "unknown audience 'cfo'; did you mean 'cio'?"),
        ({"derived_from": "nope"}, "derived_from: no piece has the slug 'nope'"),
        (
            {"derived_from": "cloud-basics-finance"},
            "'cloud-basics-finance' is itself a variant of 'cloud-basics'; derive from 'cloud-basics'",
        ),
        ({"week": "2026-05-18"}, "week 2026-05-18 is in the past; choose a later week"),
        ({"title": "Cloud\u000bcosts"}, "title: contains a control character (U+000B)"),
        ({"week": "9999-12-31"}, "week 9999-12-31 is out of range; give a year from 1000 to 9998"),
    ],
)
def test_commission_refuses_what_it_cannot_do(
    editor: TestClient, engine: Engine, change: dict, message: str
) -> None:
    before = count(engine, Piece)
    body = {"audience": "sales", "stage": "purchase", "topic": "cloud"} | change
    response = editor.post("/api/gaps/commission", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert count(engine, Piece) == before


def test_review_queue_lists_stale_pieces_heaviest_cells_first(editor: TestClient) -> None:
    items = editor.get("/api/gaps/review-queue").json()["items"]
    assert [(i["slug"], i["reasons"], i["weight"]) for i in items] == [
        ("cloud-basics", ["stale"], 3.0),
        ("cloud-basics-finance", ["stale"], 1.0),
    ]


@pytest.fixture
def browser(client: TestClient, engine: Engine, headers: dict[str, dict]) -> tuple[TestClient, str]:
    """The client signed in as the editor by a session cookie, and the pages' CSRF token."""
    with Session(engine) as session:
        eve = session.exec(select(User).where(User.email == "eve@example.com")).one()
        secret, signed_in = start_session(session, eve)
        session.commit()
    client.cookies.set("editorial_session", secret)
    return client, signed_in.csrf_token


def test_heatmap_shows_states_in_words_and_counts(browser: tuple[TestClient, str]) -> None:
    client, _ = browser
    page = client.get("/editor/gaps", params={"topic": "cloud"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert '<td class="state-stale">' in html and '<td class="state-gap">' in html
    assert "<strong>stale</strong>" in html and "<strong>gap</strong>" in html
    assert "0 fresh + 0 planned / 1" in html
    assert 'name="csrf_token"' in html
    everything = client.get("/editor/gaps").text
    assert "All topics: audiences by buying stage" in everything
    assert "2 topic gaps" in everything


@pytest.mark.parametrize("topic", ["cloud", "Cloud"])  # by slug, or by label
def test_a_square_lists_its_pieces(browser: tuple[TestClient, str], topic: str) -> None:
    client, _ = browser
    params = {"topic": topic, "audience": "cio", "stage": "awareness"}
    html = client.get("/editor/gaps", params=params).text
    square = html.split('id="cell"')[1].split("</section>")[0]
    assert "Cloud basics for the CIO" in square
    assert "published (not fresh)" in square
    assert "Cloud basics for finance" not in square  # finance's square, not the CIO's
    assert '<option value="cloud" selected>' in html


def test_the_commission_button_plans_one_piece(
    browser: tuple[TestClient, str], engine: Engine
) -> None:
    client, csrf = browser
    form = {"audience": "sales", "stage": "purchase", "topic": "cloud", "view_topic": "cloud"}
    before = count(engine, Piece)
    forged = client.post("/editor/gaps/commission", data=form | {"csrf_token": "forged"})
    assert forged.status_code == 403
    assert count(engine, Piece) == before
    done = client.post(
        "/editor/gaps/commission", data=form | {"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/editor/gaps?topic=cloud&commissioned=")
    assert count(engine, Piece) == before + 1
    with Session(engine) as session:
        revision = session.exec(select(Revision).order_by(Revision.id.desc())).first()  # type: ignore[union-attr]
    assert revision is not None and (revision.origin, revision.actor) == ("form", "eve@example.com")
    page = client.get(done.headers["location"]).text
    assert "on the calendar" in page


def test_the_heatmap_is_for_editors(
    client: TestClient, engine: Engine, headers: dict[str, dict]
) -> None:
    anonymous = client.get("/editor/gaps", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/editor/login")
    with Session(engine) as session:
        ada = session.exec(select(User).where(User.email == "ada@example.com")).one()
        secret, _ = start_session(session, ada)
        session.commit()
    client.cookies.set("editorial_session", secret)
    assert client.get("/editor/gaps").status_code == 403


def test_low_rated_pieces_join_the_review_queue(editor: TestClient, engine: Engine) -> None:
    def queued() -> dict[str, list[str]]:
        items = editor.get("/api/gaps/review-queue").json()["items"]
        return {item["slug"]: item["reasons"] for item in items}

    slug = editor.get("/api/pieces").json()["items"][0]["slug"]
    with Session(engine) as session:
        piece_id = session.exec(select(Piece.id).where(Piece.slug == slug)).one()
    assert "low rated" not in queued().get(slug, [])
    with Session(engine) as session:
        for reader in range(6):
            session.add(Rating(piece_id=piece_id, reader=f"reader-{reader}", stars=1))
        session.commit()
    assert "low rated" in queued()[slug]
