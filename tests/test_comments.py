"""Reader comments: moderation modes, threading, abuse rules, inert XSS, the moderation queue,
the dashboard count, the no-JavaScript form, and approved comments reaching the next export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from feedback_support import (
    HIDDEN,
    OTHER,
    PUBLIC,
    app_client,
    comments,
    csrf_of,
    make_user,
    sign_in,
)
from markupsafe import escape
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from editorial.cli import app as cli
from editorial.export import export_site
from editorial.ingest import ingest
from editorial.models import CommentStatus
from editorial.moderation import moderate
from editorial.settings import Settings

URL = f"/api/pieces/{PUBLIC}/comments"
PAGE = f"/pieces/{PUBLIC}/"


@pytest.fixture
def site(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    return client


@pytest.fixture
def stocked(engine: Engine, content_dir: Path) -> Engine:
    assert not ingest(engine, content_dir).errors
    return engine


def approve_all(engine: Engine) -> None:
    with Session(engine) as session:
        moderate(session, [c.id for c in comments(engine)], "approve")
        session.commit()


def say(client: TestClient, body: str, name: str = "Ada", **extra) -> dict:
    response = client.post(URL, json={"name": name, "body": body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_comments_are_held_by_default(site: TestClient, engine: Engine) -> None:
    answer = say(site, "Useful, thanks.")
    assert answer["status"] == "pending"
    assert "moderator" in answer["message"]
    assert site.get(URL).json() == {"count": 0, "comments": []}
    assert "Useful, thanks." not in site.get(PAGE).text
    approve_all(engine)
    shown = site.get(URL).json()
    assert shown["count"] == 1
    assert shown["comments"][0]["name"] == "Ada"
    assert shown["comments"][0]["html"] == "<p>Useful, thanks.</p>\n"
    assert "Useful, thanks." in site.get(PAGE).text


def test_first_time_readers_are_held(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, comment_moderation="first") as reader:
        assert say(reader, "First words.")["status"] == "pending"
        assert say(reader, "Still unknown.")["status"] == "pending"
        approve_all(stocked)
        assert say(reader, "Now known.")["status"] == "approved"
        reader.cookies.clear()
        assert say(reader, "A stranger again.")["status"] == "pending"


def test_no_moderation_publishes_at_once(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, comment_moderation="none") as reader:
        answer = say(reader, "Straight out.")
        assert answer["status"] == "approved"
        assert reader.get(URL).json()["count"] == 1


def test_oldest_first_with_one_level_of_replies(site: TestClient, engine: Engine) -> None:
    first = say(site, "First.")["id"]
    say(site, "Second.", name="Bo")
    approve_all(engine)
    reply = say(site, "A reply.", name="Cy", parent_id=first)["id"]
    approve_all(engine)
    say(site, "A reply to the reply.", name="Di", parent_id=reply)
    approve_all(engine)
    threads = site.get(URL).json()["comments"]
    assert [t["name"] for t in threads] == ["Ada", "Bo"]
    assert [r["name"] for r in threads[0]["replies"]] == ["Cy", "Di"]
    assert all(r["replies"] == [] for r in threads[0]["replies"])
    page = site.get(PAGE).text
    assert "Comments (4)" in page
    assert page.index("First.") < page.index("A reply.") < page.index("Second.")


def test_replies_only_to_approved_comments_on_the_same_piece(
    site: TestClient, engine: Engine
) -> None:
    held = say(site, "Not yet approved.")["id"]
    response = site.post(URL, json={"name": "Bo", "body": "Hm.", "parent_id": held})
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "parent_id"
    approve_all(engine)
    elsewhere = site.post(
        f"/api/pieces/{OTHER}/comments", json={"name": "Bo", "body": "Hm.", "parent_id": held}
    )
    assert elsewhere.status_code == 422


def test_a_parent_id_no_row_can_hold_is_refused_by_field(site: TestClient, engine: Engine) -> None:
    """Ids are 32-bit columns: a larger number overflowed SQLite's driver (PostgreSQL's int4)."""
    huge = {"name": "Bo", "body": "Hm.", "parent_id": 99999999999999999999999}
    response = site.post(URL, json=huge)
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "parent_id"
    for parent_id in (2**31, 0, -1):
        refused = site.post(URL, json=huge | {"parent_id": parent_id})
        assert refused.json()["detail"]["field"] == "parent_id"
    form = {"name": "Bo", "body": "Hm.", "parent_id": "99999999999999999999"}
    by_form = site.post(f"/pieces/{PUBLIC}/comment", data=form)
    assert by_form.status_code == 422
    assert "The comment you reply to is not on this page." in by_form.text
    assert comments(engine) == []


@pytest.mark.parametrize("slug", HIDDEN)
def test_unpublished_pieces_take_no_comments(site: TestClient, engine: Engine, slug: str) -> None:
    assert site.get(f"/api/pieces/{slug}/comments").status_code == 404
    body = {"name": "Ada", "body": "Hello"}
    assert site.post(f"/api/pieces/{slug}/comments", json=body).status_code == 404
    assert site.post(f"/pieces/{slug}/comment", data=body).status_code == 404
    assert comments(engine) == []


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("", "Hello", "name"),
        ("   ", "Hello", "name"),
        ("x" * 81, "Hello", "name"),
        ("Ada", "", "body"),
        ("Ada", "  \n ", "body"),
        ("Ada", "x" * 5001, "body"),
    ],
)
def test_length_limits(site: TestClient, engine: Engine, name: str, body: str, field: str) -> None:
    response = site.post(URL, json={"name": name, "body": body})
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == field
    assert comments(engine) == []


def test_a_lone_surrogate_is_refused_not_a_crash(site: TestClient, engine: Engine) -> None:
    """The 422 echoes the input, and text with half a UTF-16 pair cannot be written as UTF-8."""
    body = b'{"name": "\\ud800", "body": "x"}'
    response = site.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["input"]) == (["body", "name"], "\ufffd")
    assert comments(engine) == []


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("A\u0000da", "Hello", "name"),
        ("Ada", "Hel\u0000lo", "body"),
        ("Ada", "Page\u000cbreak", "body"),
    ],
)
def test_text_pages_cannot_carry_is_refused_by_field(
    site: TestClient, engine: Engine, name: str, body: str, field: str
) -> None:
    """NUL failed on PostgreSQL with a 500 and was stored and shown raw on SQLite."""
    response = site.post(URL, json={"name": name, "body": body})
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == field
    by_form = site.post(f"/pieces/{PUBLIC}/comment", data={"name": name, "body": body})
    assert by_form.status_code == 422
    assert "remove it" in by_form.text
    assert comments(engine) == []


def test_the_body_limit_comes_from_settings(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, comment_max_chars=10) as reader:
        response = reader.post(URL, json={"name": "Ada", "body": "eleven char"})
    assert response.status_code == 422
    assert "keep it to 10" in response.json()["detail"]["message"]


def test_honeypot_looks_held_but_stores_nothing(site: TestClient, engine: Engine) -> None:
    answer = site.post(URL, json={"name": "Bot", "body": "Buy", "website": "http://x.example"})
    assert answer.status_code == 201
    assert answer.json()["status"] == "pending"
    form = site.post(
        f"/pieces/{PUBLIC}/comment",
        data={"name": "Bot", "body": "Buy", "website": "x"},
        follow_redirects=False,
    )
    assert form.status_code == 303
    assert form.headers["location"].endswith("#feedback-held")
    assert comments(engine) == []


def test_too_many_links_are_held_as_spam(stocked: Engine, settings: Settings) -> None:
    body = "See https://a.example and http://b.example and www.c.example"
    with app_client(settings, comment_moderation="none") as reader:
        answer = say(reader, body)
        assert answer["status"] == "pending"  # the sender is not told it is spam
        assert say(reader, "Two links: https://a.example, [b](https://b.example)")["status"] == (
            "approved"
        )
    assert [c.status for c in comments(stocked)] == [CommentStatus.SPAM, CommentStatus.APPROVED]


def test_exact_duplicates_are_refused(site: TestClient, engine: Engine) -> None:
    say(site, "Same words.")
    again = site.post(URL, json={"name": "Ada", "body": "Same words."})
    assert again.status_code == 409
    site.cookies.clear()
    other_reader = site.post(URL, json={"name": "Bo", "body": "Same words."})
    assert other_reader.status_code == 409
    elsewhere = site.post(f"/api/pieces/{OTHER}/comments", json={"name": "Bo", "body": "New."})
    assert elsewhere.status_code == 201
    assert len(comments(engine)) == 2


def test_one_reader_cannot_flood(site: TestClient, frozen_clock) -> None:
    codes = [
        site.post(URL, json={"name": "Ada", "body": f"Comment {i}"}).status_code for i in range(7)
    ]
    assert codes == [201] * 6 + [429]


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    "![x](https://tracker.example/pixel.png)",
    '"><iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
]


@pytest.mark.parametrize("payload", XSS)
def test_xss_in_names_and_bodies_comes_out_inert(
    site: TestClient, engine: Engine, payload: str
) -> None:
    name = f"N{payload}"[:80]
    say(site, f"Body {payload}", name=name)
    approve_all(engine)
    page = site.get(PAGE).text
    shown = page[page.index('<ol class="comments"') : page.index('<h3 id="add-comment"')]
    api = site.get(URL).json()["comments"][0]
    for html in (shown, api["html"]):
        for tag in ("<script", "<img", "<svg", "<iframe", "<style"):
            assert tag not in html
        assert not re.search(r"<a\s[^>]*href=\"\s*javascript", html)
        assert not re.search(r"<[^>]*\son\w+\s*=", html)
    assert f"<strong>{escape(name)}</strong>" in shown
    assert api["name"] == name  # JSON keeps the name as text; the script shows it as text


def test_links_are_nofollow_ugc(stocked: Engine, settings: Settings) -> None:
    with app_client(settings, comment_moderation="none") as reader:
        html = say(reader, "Read [this](https://example.org/a) please") and reader.get(URL)
    body = html.json()["comments"][0]["html"]
    assert '<a href="https://example.org/a" rel="nofollow ugc">this</a>' in body


def test_the_comment_form_works_without_javascript(site: TestClient, engine: Engine) -> None:
    page = site.get(PAGE).text
    assert (
        f'<form class="comment-form stacked" method="post" action="/pieces/{PUBLIC}/comment">'
        in page
    )
    data = {"name": "Ada", "body": "By form.", "return_to": f"http://testserver{PAGE}"}
    response = site.post(f"/pieces/{PUBLIC}/comment", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"http://testserver{PAGE}#feedback-held"
    assert [c.body for c in comments(engine)] == ["By form."]
    refused = site.post(f"/pieces/{PUBLIC}/comment", data={"name": "Ada", "body": ""})
    assert refused.status_code == 422
    assert "<strong>Body:</strong> Write something in the comment." in refused.text


def test_the_comment_form_takes_an_ascii_parent_id_only(site: TestClient, engine: Engine) -> None:
    """'\u00b2' passed str.isdigit() and then failed int(): a 500 instead of a comment."""
    data = {"name": "Ada", "body": "By form.", "parent_id": "\u00b2"}
    response = site.post(f"/pieces/{PUBLIC}/comment", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert [(c.body, c.parent_id) for c in comments(engine)] == [("By form.", None)]


def test_moderation_queue_needs_an_editor(
    site: TestClient, engine: Engine, settings: Settings
) -> None:
    assert site.get("/editor/comments", follow_redirects=False).status_code == 303
    make_user(engine, "contributor", "cy@example.com")
    with app_client(settings) as contributor:
        sign_in(contributor, "cy@example.com")
        assert contributor.get("/editor/comments").status_code == 403


def test_moderation_queue_in_bulk(site: TestClient, engine: Engine, settings: Settings) -> None:
    for i in range(3):
        say(site, f"Comment {i}.")
    make_user(engine, "editor", "ada@example.com")
    with app_client(settings) as editor:
        sign_in(editor, "ada@example.com")
        assert "<strong>3</strong> comments to moderate" in editor.get("/editor/").text
        page = editor.get("/editor/comments").text
        assert "Waiting (3)" in page
        ids = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]
        assert len(ids) == 3
        forged = editor.post(
            "/editor/comments", data={"action": "approve", "ids": ids}, follow_redirects=False
        )
        assert forged.status_code == 403
        data = {"action": "approve", "ids": ids[:2], "csrf_token": csrf_of(page)}
        done = editor.post("/editor/comments", data=data, follow_redirects=False)
        assert done.status_code == 303
        after = editor.get(done.headers["location"]).text
        assert "2 comments approved." in after and "Waiting (1)" in after
        data = {"action": "spam", "ids": ids[2:], "csrf_token": csrf_of(after)}
        editor.post("/editor/comments", data=data)
        nothing = editor.post(
            "/editor/comments", data={"action": "reject", "csrf_token": csrf_of(after)}
        )
        assert nothing.status_code == 400
        assert "Select at least one comment." in nothing.text
        huge = {"action": "approve", "ids": [99999999999999999999], "csrf_token": csrf_of(after)}
        none_such = editor.post("/editor/comments", data=huge, follow_redirects=False)
        assert "done=0" in none_such.headers["location"]
        assert "<strong>0</strong> comments to moderate" in editor.get("/editor/").text
    statuses = [c.status for c in comments(engine)]
    assert statuses == ["approved", "approved", "spam"]


def test_moderation_api_for_scripts(site: TestClient, engine: Engine) -> None:
    ids = [say(site, f"API {i}.")["id"] for i in range(2)]
    token = make_user(engine, "editor", "ada@example.com")
    writer = make_user(engine, "contributor", "cy@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    assert site.get("/api/feedback/comments").status_code == 401
    waiting = site.get("/api/feedback/comments", headers=auth).json()
    assert [c["id"] for c in waiting] == ids
    denied = site.post(
        "/api/feedback/comments/moderate",
        json={"ids": ids, "action": "reject"},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert denied.status_code == 403
    done = site.post(
        "/api/feedback/comments/moderate", json={"ids": ids, "action": "reject"}, headers=auth
    )
    assert done.json() == {"changed": 2, "action": "reject"}
    assert (
        site.get("/api/feedback/comments?status=rejected", headers=auth).json()[0]["id"] == ids[0]
    )
    for huge in (2**31, 99999999999999999999):
        body = {"ids": [ids[0], huge], "action": "approve"}
        refused = site.post("/api/feedback/comments/moderate", json=body, headers=auth)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == 1


def test_moderation_counts_only_comments_it_changed(site: TestClient, engine: Engine) -> None:
    first, second = (say(site, f"Twice {i}.")["id"] for i in range(2))
    with Session(engine) as session:
        assert moderate(session, [first], "approve") == 1
        assert moderate(session, [first, second], "approve") == 1  # the first was approved
        assert moderate(session, [first, second], "approve") == 0
        session.commit()
    again = CliRunner().invoke(cli, ["feedback", "moderate", "approve", str(first)])
    assert again.exit_code == 0 and "0 comments changed." in again.output


def test_moderation_commands(site: TestClient, engine: Engine) -> None:
    first = say(site, "From the shell.")["id"]
    runner = CliRunner()
    listed = runner.invoke(cli, ["feedback", "pending"])
    assert listed.exit_code == 0 and "From the shell." in listed.output
    done = runner.invoke(cli, ["feedback", "moderate", "approve", str(first)])
    assert done.exit_code == 0 and "1 comment changed." in done.output
    bad = runner.invoke(cli, ["feedback", "moderate", "publish", str(first)])
    assert bad.exit_code == 1 and "use approve, reject or spam" in bad.output


def test_approved_comments_and_new_ratings_reach_the_next_export(
    site: TestClient, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_site(engine, settings, out)
    say(site, "Exported later.")
    held = export_site(engine, settings, out)
    assert held.written == 0  # a held comment changes nothing public
    approve_all(engine)
    approved = export_site(engine, settings, out)
    assert approved.written == 1
    assert "Exported later." in (out / "pieces" / PUBLIC / "index.html").read_text()
    site.post(f"/api/pieces/{OTHER}/ratings", json={"stars": 5})
    rated = export_site(engine, settings, out)
    assert rated.written == 1
    assert "Rated <strong>5.0</strong>" in (out / "pieces" / OTHER / "index.html").read_text()
    assert export_site(engine, settings, out).written == 0
