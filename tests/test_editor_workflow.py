"""The workflow's dashboard pages: plan, assignments, draft form with preview and upload, review."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from editorial import clock
from editorial.auth import create_user
from editorial.ingest import ingest
from editorial.models import Piece

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(app, email: str) -> TestClient:
    browser = TestClient(app)
    token = CSRF.search(browser.get("/editor/login").text).group(1)
    data = {"email": email, "password": PASSWORD, "csrf_token": token, "next": "/editor/"}
    assert browser.post("/editor/login", data=data, follow_redirects=False).status_code == 303
    return browser


def csrf(browser: TestClient, path: str) -> str:
    return CSRF.search(browser.get(path).text).group(1)


def version_on(page: str) -> str:
    return re.search(r'name="base_version" value="(\d+)"', page).group(1)


@pytest.fixture
def browsers(client: TestClient, engine: Engine) -> Iterator[dict[str, TestClient]]:
    with Session(engine) as session:
        create_user(session, "Eve", "eve@example.com", "editor", PASSWORD)
        create_user(session, "Ada", "ada@example.com", "contributor", PASSWORD)
        create_user(session, "Bob", "bob@example.com", "contributor", PASSWORD)
        session.commit()
    found = {name: signed_in(client.app, f"{name}@example.com") for name in ("eve", "ada", "bob")}
    yield found
    for browser in found.values():
        browser.close()


PLAN_FORM = {
    "title": "Cloud costs for CFOs",
    "audience": ["finance", "cio"],
    "stage": "awareness",
    "topic": "cloud",
    "format": "blog-post",
    "assignee": "ada@example.com",
    "due_at": "2026-06-10T17:00",
    "publish_at": "",
    "brief": "Explain where <cloud> money goes.",
}


def plan(eve: TestClient, **fields: str) -> str:
    data = PLAN_FORM | fields | {"csrf_token": csrf(eve, "/editor/plan")}
    response = eve.post("/editor/plan", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_the_dashboard_path_plan_write_review(browsers: dict[str, TestClient]) -> None:
    eve, ada, bob = browsers["eve"], browsers["ada"], browsers["bob"]
    workspace = plan(eve)
    assert workspace == "/editor/pieces/cloud-costs-for-cfos"
    page = eve.get(workspace).text
    assert "Explain where &lt;cloud&gt; money goes." in page and "2026-06-10 17:00 UTC" in page
    mine = ada.get("/editor/assignments").text
    assert "Cloud costs for CFOs" in mine and "Explain where &lt;cloud&gt; money goes." in mine
    assert "Cloud costs" not in bob.get("/editor/assignments").text
    assert bob.get(workspace).status_code == 404
    draft_url = f"{workspace}/draft"
    form = ada.get(draft_url).text
    data = {"csrf_token": csrf(ada, draft_url), "base_version": version_on(form)}
    preview = ada.post(draft_url, data=data | {"body": "Hello *there*", "action": "preview"})
    assert "<em>there</em>" in preview.text and "Preview (not saved yet)" in preview.text
    saved = ada.post(
        draft_url, data=data | {"body": "Hello *there*", "action": "submit"}, follow_redirects=False
    )
    assert saved.status_code == 303
    queue = eve.get("/editor/review").text
    assert "/editor/review/cloud-costs-for-cfos" in queue
    review = eve.get("/editor/review/cloud-costs-for-cfos").text
    assert "<em>there</em>" in review and "<ins>+Hello *there*</ins>" in review
    decision = {
        "csrf_token": csrf(eve, "/editor/review"),
        "base_version": version_on(review),
        "to": "draft",
        "note": "Add the numbers.",
    }
    sent_back = eve.post(f"{workspace}/transition", data=decision, follow_redirects=False)
    assert sent_back.status_code == 303
    assert "Add the numbers." in ada.get("/editor/assignments").text
    assert "requested changes" in ada.get(workspace).text


def test_plan_form_errors_sit_next_to_their_fields(browsers: dict[str, TestClient]) -> None:
    eve = browsers["eve"]
    data = PLAN_FORM | {"assignee": "nobody@example.com", "due_at": "soon"}
    response = eve.post("/editor/plan", data=data | {"csrf_token": csrf(eve, "/editor/plan")})
    assert response.status_code == 422
    assert 'id="assignee-error">no active team member has the address nobody@example.com' in (
        response.text
    )
    assert 'id="due_at-error">bad date' in response.text
    assert 'value="Cloud costs for CFOs"' in response.text


def test_upload_errors_are_shown_by_field(browsers: dict[str, TestClient]) -> None:
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    page = ada.get(f"{workspace}/draft").text
    data = {"csrf_token": csrf(ada, f"{workspace}/draft"), "base_version": version_on(page)}
    bad = b"---\ntitle: T\naudience: cfo\n---\nBody\n"
    response = ada.post(f"{workspace}/upload", data=data, files={"file": ("d.md", bad)})
    assert response.status_code == 422
    assert "audience: line 3: unknown audience &#39;cfo&#39;" in response.text
    good = b"---\ntitle: Uploaded\n---\nFrom a file.\n"
    # the picker (accept=".md") offers an upper-case extension too, which used to be refused
    done = ada.post(
        f"{workspace}/upload", data=data, files={"file": ("D.MD", good)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "Uploaded" in ada.get(workspace).text


def test_a_stale_form_answers_409_and_keeps_the_text(browsers: dict[str, TestClient]) -> None:
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    data = {"csrf_token": csrf(ada, f"{workspace}/draft"), "base_version": "1"}
    first = ada.post(f"{workspace}/draft", data=data | {"body": "One"}, follow_redirects=False)
    assert first.status_code == 303
    stale = ada.post(f"{workspace}/draft", data=data | {"body": "My precious text"})
    assert stale.status_code == 409
    assert "My precious text" in stale.text and "changed since version 1" in stale.text


def test_saving_the_planning_form_unchanged_adds_no_revision(
    browsers: dict[str, TestClient],
) -> None:
    eve = browsers["eve"]
    workspace = plan(eve)
    data = PLAN_FORM | {"csrf_token": csrf(eve, workspace), "base_version": "1"}
    saved = eve.post(f"{workspace}/planning", data=data, follow_redirects=False)
    assert saved.status_code == 303
    assert version_on(eve.get(workspace).text) == "1"


def test_a_refused_planning_form_keeps_what_was_typed(browsers: dict[str, TestClient]) -> None:
    """The workspace's planning form came back with the stored values, losing every change."""
    eve = browsers["eve"]
    workspace = plan(eve)
    typed = {"title": "A better title", "due_at": "soon", "audience": "sales", "brief": "New brief"}
    data = PLAN_FORM | typed | {"csrf_token": csrf(eve, workspace), "base_version": "1"}
    response = eve.post(f"{workspace}/planning", data=data)
    assert response.status_code == 422
    assert 'id="due_at-error">bad date' in response.text
    assert 'value="A better title"' in response.text and 'value="soon"' in response.text
    assert 'value="sales" checked' in response.text and 'value="finance" checked' not in (
        response.text
    )
    assert ">New brief</textarea>" in response.text


def move(browser: TestClient, workspace: str, to: str, **fields: str):
    page = browser.get(workspace).text
    data = {"csrf_token": CSRF.search(page).group(1), "base_version": version_on(page), "to": to}
    return browser.post(f"{workspace}/transition", data=data | fields, follow_redirects=False)


def test_a_refused_move_marks_only_its_own_field(browsers: dict[str, TestClient]) -> None:
    """A schedule refused for want of a date put its message under the planning form's publish
    date too: two elements with one id, and a field marked invalid that was not sent."""
    eve = browsers["eve"]
    workspace = plan(eve)
    for status in ("draft", "review", "approved"):
        assert move(eve, workspace, status).status_code == 303
    refused = move(eve, workspace, "scheduled", publish_at="")
    assert refused.status_code == 422
    assert refused.text.count('id="publish_at-error"') == 1
    assert 'id="publish-scheduled" name="publish_at" type="datetime-local" value="" ' in (
        refused.text
    )
    assert 'aria-describedby="publish_at-error"' in refused.text.split('id="planning"')[0]
    assert 'aria-invalid="true"' not in refused.text.split('id="planning"')[1]


def test_a_date_with_seconds_left_alone_in_the_planning_form_is_no_change(
    browsers: dict[str, TestClient], engine: Engine
) -> None:
    """The form shows minutes; a due moment stored with seconds (a commission is due "now")
    moved to the minute on every save, each time a new revision."""
    eve = browsers["eve"]
    workspace = plan(eve)
    with Session(engine) as session:
        piece = session.exec(select(Piece)).one()
        piece.due_at = datetime(2026, 6, 10, 17, 0, 31, 250000, tzinfo=UTC)
        session.add(piece)
        session.commit()
    data = PLAN_FORM | {"csrf_token": csrf(eve, workspace), "base_version": "1"}
    assert eve.post(f"{workspace}/planning", data=data, follow_redirects=False).status_code == 303
    with Session(engine) as session:
        piece = session.exec(select(Piece)).one()
        assert piece.version == 1 and piece.due_at.second == 31


def test_a_planning_form_with_a_non_ascii_version_is_stale(browsers: dict[str, TestClient]) -> None:
    """'\u00b9' (superscript one) passed str.isdigit() and then failed int(): a 500."""
    eve = browsers["eve"]
    workspace = plan(eve)
    data = PLAN_FORM | {"csrf_token": csrf(eve, workspace), "base_version": "\u00b9"}
    response = eve.post(f"{workspace}/planning", data=data | {"title": "Renamed"})
    assert response.status_code == 409
    assert "Cloud costs for CFOs" in eve.get(workspace).text


def test_diff_page_and_pages_by_role(browsers: dict[str, TestClient], client: TestClient) -> None:
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    diff = eve.get(f"{workspace}/diff", params={"from": 1, "to": 1})
    assert diff.status_code == 200 and "No differences." in diff.text
    beyond = eve.get(f"{workspace}/diff", params={"from": 99999999999999999999})
    assert beyond.status_code == 422 and "no revision 99999999999999999999" in beyond.text
    assert ada.get("/editor/review").status_code == 403
    assert ada.get("/editor/plan").status_code == 403
    assert browsers["bob"].get(f"{workspace}/diff").status_code == 404
    for path in ("/editor/assignments", "/editor/review", workspace, f"{workspace}/draft"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and "/editor/login" in anonymous.headers["location"]


def test_dashboard_refusals_are_pages_that_say_why(browsers: dict[str, TestClient]) -> None:
    """A stale form token, a page for editors only or a form the server cannot read answered a
    bare JSON body where the person expected a page."""
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    stale = eve.post(f"{workspace}/notes", data={"csrf_token": "from-another-session"})
    editors_only = ada.get("/editor/plan")
    unreadable = eve.post(f"{workspace}/transition", data={"csrf_token": csrf(eve, workspace)})
    for response, status in ((stale, 403), (editors_only, 403), (unreadable, 422)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert '<p class="error" role="alert">' in response.text
    assert "security token is missing or stale; reload the page" in stale.text
    assert "Only editors can open this page." in editors_only.text
    assert "to: Field required; base_version: Field required." in unreadable.text


def test_a_draft_cannot_be_sent_for_review_from_past_review(
    browsers: dict[str, TestClient],
) -> None:
    """'Save and send for review' on an approved piece left it approved, out of the review
    queue, yet wrote "submitted for review" in its thread."""
    eve = browsers["eve"]
    workspace = plan(eve)
    assert 'value="submit">Save and send for review' in eve.get(f"{workspace}/draft").text
    for status in ("draft", "review", "approved"):
        assert move(eve, workspace, status).status_code == 303
    form = eve.get(f"{workspace}/draft").text
    assert 'value="submit"' not in form
    data = {"csrf_token": csrf(eve, workspace), "base_version": version_on(form)}
    sent = eve.post(f"{workspace}/draft", data=data | {"body": "Kept text", "action": "submit"})
    assert sent.status_code == 409
    assert "cannot move from approved to review" in sent.text and "Kept text" in sent.text
    thread = eve.get(workspace).text.split('id="notes"')[1]
    assert thread.count("submitted for review") == 1


def test_a_previewed_piece_takes_no_id_of_the_page(browsers: dict[str, TestClient]) -> None:
    """A draft with a "Summary" heading gave the preview the summary field's id, and one with a
    "Notes" heading took the id that names the review page's notes section."""
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    page = ada.get(f"{workspace}/draft").text
    data = {"csrf_token": csrf(ada, workspace), "base_version": version_on(page)}
    text = "## Summary\n\nSee the [notes](#notes).\n\n## Notes\n\nMore.\n"
    shown = ada.post(f"{workspace}/draft", data=data | {"body": text, "action": "preview"})
    ids = re.findall(r'\sid="([^"]+)"', shown.text)
    assert len(ids) == len(set(ids)) and 'id="summary"' in shown.text
    assert '<h2 id="preview-notes">Notes</h2>' in shown.text and 'href="#preview-notes"' in (
        shown.text
    )
    ada.post(f"{workspace}/draft", data=data | {"body": text, "action": "submit"})
    review = eve.get("/editor/review/cloud-costs-for-cfos").text
    ids = re.findall(r'\sid="([^"]+)"', review)
    assert len(ids) == len(set(ids)) and '<h2 id="notes">Review notes</h2>' in review


def test_draft_errors_sit_in_the_form_that_was_sent(browsers: dict[str, TestClient]) -> None:
    """An uploaded file without a title was reported under the Markdown form's title field, and
    a summary refused in the Markdown form was listed under the upload field."""
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    page = ada.get(f"{workspace}/draft").text
    data = {"csrf_token": csrf(ada, workspace), "base_version": version_on(page)}
    upload = ("d.md", b"---\nsummary: No title here\n---\nBody\n")
    uploaded = ada.post(f"{workspace}/upload", data=data, files={"file": upload})
    assert uploaded.status_code == 422
    assert (
        'id="title-error"' not in uploaded.text
        and "aria-invalid" not in (uploaded.text.split('id="file"')[0])
    )
    assert "<li>title: &#39;title&#39; is required" in uploaded.text
    typed = ada.post(f"{workspace}/draft", data=data | {"body": "Text", "summary": "A\x0bB"})
    assert typed.status_code == 422
    assert 'id="summary-error">contains a control character (U+000B)' in typed.text
    assert 'id="upload-errors"' not in typed.text


def test_a_refused_note_keeps_what_was_typed(browsers: dict[str, TestClient]) -> None:
    """A review note refused for a stray control character came back as an empty box."""
    eve = browsers["eve"]
    workspace = plan(eve)
    note = "Three paragraphs of advice,\x0bpasted from elsewhere"
    data = {"csrf_token": csrf(eve, workspace), "body": note}
    refused = eve.post(f"{workspace}/notes", data=data)
    assert refused.status_code == 422 and 'id="body-error"' in refused.text
    assert f'required aria-describedby="body-error" aria-invalid="true">{note}</textarea>' in (
        refused.text
    )
    for status in ("draft", "review"):
        assert move(eve, workspace, status).status_code == 303
    sent_back = move(eve, workspace, "draft", note=note)
    assert sent_back.status_code == 422 and 'id="note-error"' in sent_back.text
    assert f'aria-invalid="true">{note}</textarea>' in sent_back.text


def test_a_title_too_long_for_the_form_is_named_and_the_text_kept(
    browsers: dict[str, TestClient],
) -> None:
    """A file may hold a longer title than the form takes; the form sent it back as shown and
    got a bare 422 for the whole request, losing the text just written."""
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    data = {"csrf_token": csrf(ada, workspace), "base_version": "1"}
    title = "T" * 400
    upload = ("d.md", f"---\ntitle: {title}\n---\nBody\n".encode())
    assert ada.post(f"{workspace}/upload", data=data, files={"file": upload}).status_code == 200
    data["base_version"] = version_on(ada.get(f"{workspace}/draft").text)
    sent = ada.post(f"{workspace}/draft", data=data | {"title": title, "body": "New words"})
    assert sent.status_code == 422
    assert 'id="title-error">400 characters, more than 300; shorten it' in sent.text
    assert ">New words</textarea>" in sent.text


def test_a_refused_approval_leaves_the_request_for_changes_alone(
    browsers: dict[str, TestClient],
) -> None:
    """An approval note refused from the review page came back in the workspace's "What should
    change" box, with the message under it, as if changes had been requested."""
    eve = browsers["eve"]
    workspace = plan(eve)
    for status in ("draft", "review"):
        assert move(eve, workspace, status).status_code == 303
    refused = move(eve, workspace, "approved", note="Fine\x0bwork")
    assert refused.status_code == 422 and 'role="alert">note: contains a control' in refused.text
    assert (
        'id="note-draft" name="note" rows="3" maxlength="10000" required></textarea>'
        in refused.text
    )
    assert 'id="note-error"' not in refused.text


def test_a_file_assigning_a_capitalised_address_reaches_its_writer(
    browsers: dict[str, TestClient], engine: Engine, content_dir: Path
) -> None:
    """Addresses are stored in lower case at sign-in; a file's `assignee: Ada@Example.com` was
    kept as written, so Ada saw neither the piece nor its workspace (404), though the editor's
    calendar filtered it as hers."""
    (content_dir / "posts" / "assigned.md").write_text(
        "---\ntitle: Assigned in a file\nstatus: planned\nassignee: Ada@Example.com\n---\nB\n"
    )
    assert ingest(engine, content_dir).errors == []
    ada = browsers["ada"]
    assert "Assigned in a file" in ada.get("/editor/assignments").text
    assert ada.get("/editor/pieces/assigned").status_code == 200


def test_the_review_queue_dates_a_piece_by_its_submission(
    browsers: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue's "Submitted" column (and its order) followed the piece's last change, so an
    editor's planning edit made a piece look freshly submitted and sent it to the back."""
    eve = browsers["eve"]
    moments = iter(datetime(2026, 6, day, 9, tzinfo=UTC) for day in range(1, 9))
    now = next(moments)
    monkeypatch.setattr(clock, "now", lambda: now)
    first, second = plan(eve), plan(eve, title="Second piece")
    for workspace in (first, second):
        for status in ("draft", "review"):
            assert move(eve, workspace, status).status_code == 303
        now = next(moments)
    page = eve.get(first).text
    data = PLAN_FORM | {"csrf_token": csrf(eve, first), "base_version": version_on(page)}
    assert eve.post(f"{first}/planning", data=data | {"brief": "Sharper"}).status_code == 200
    queue = eve.get("/editor/review").text
    assert queue.index("Cloud costs for CFOs") < queue.index("Second piece")
    assert "2026-06-01 09:00 UTC" in queue and "2026-06-02 09:00 UTC" in queue


def test_a_writer_is_not_offered_a_draft_form_they_cannot_send(
    browsers: dict[str, TestClient],
) -> None:
    """Once a piece was in review, its writer was still offered the draft editor, wrote, and
    was refused on saving."""
    eve, ada = browsers["eve"], browsers["ada"]
    workspace = plan(eve)
    assert 'id="body"' in ada.get(f"{workspace}/draft").text
    assert "Write or upload the draft" in ada.get(workspace).text
    for status in ("draft", "review"):
        assert move(eve, workspace, status).status_code == 303
    closed = ada.get(f"{workspace}/draft").text
    assert 'id="body"' not in closed and 'id="file"' not in closed
    assert "not open for writing now" in closed
    assert "Write or upload the draft" not in ada.get(workspace).text
    assert "Write or upload the draft" in eve.get(workspace).text
    assert 'id="body"' in eve.get(f"{workspace}/draft").text
