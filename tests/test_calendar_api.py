"""The calendar over HTTP: /api/calendar, /calendar.ics, rescheduling by JSON (drag and drop)
and by the plain form, the dashboard page, and who may see what."""

from __future__ import annotations

import re
from datetime import date, datetime
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import icalendar
import pytest
from calendar_corpus import PASSWORD, build, write_taxonomy
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.routers.editor_calendar import safe_back, view_of
from editorial import auth
from editorial.models import User

JUNE = {"from": "2026-06-01", "to": "2026-06-30"}


@pytest.fixture
def people(engine: Engine, content_dir: Path, frozen_clock: datetime) -> dict[str, User]:
    write_taxonomy(content_dir)
    with Session(engine, expire_on_commit=False) as session:
        return build(session, PASSWORD)


@pytest.fixture
def tokens(engine: Engine, people: dict[str, User]) -> dict[str, str]:
    with Session(engine) as session:
        found = {name: auth.issue_token(session, user) for name, user in people.items()}
        session.commit()
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api(client: TestClient, token: str, **params: str) -> dict:
    response = client.get("/api/calendar", params=JUNE | params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def feed(client: TestClient, token: str, **params: str) -> list:
    response = client.get("/calendar.ics", params=JUNE | params | {"token": token})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content).walk("VEVENT")


def test_anonymous_callers_get_nothing(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/calendar").status_code == 401
    assert client.get("/calendar.ics").status_code == 404
    assert client.get("/calendar.ics", params={"token": "ed_not-a-token"}).status_code == 404
    assert client.get("/calendar.ics", params={"token": ""}).status_code == 404
    page = client.get("/editor/calendar", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/editor/login")
    move = {"slug": "cloud-plan", "lane": "due", "date": "2026-06-09", "version": 1}
    assert client.post("/api/calendar/reschedule", json=move).status_code == 401


def test_calendar_apps_may_check_the_feed_with_head(client, tokens) -> None:
    """HEAD answered 405, where calendar apps and link checkers expect GET's answer."""
    query = JUNE | {"token": tokens["eve"]}
    head = client.head("/calendar.ics", params=query)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/calendar")
    assert client.head("/calendar.ics", params={"token": "ed_not-a-token"}).status_code == 404


def test_json_calendar_lists_items_backlog_and_cadence(client, tokens) -> None:
    data = api(client, tokens["eve"])
    assert [(i["slug"], i["lane"], i["date"], i["status"]) for i in data["items"]] == [
        ("analytics-sched", "publish", "2026-06-03", "scheduled"),
        ("cloud-plan", "due", "2026-06-05", "planned"),
        ("cloud-plan", "publish", "2026-06-16", "planned"),
    ]
    assert {e["slug"] for e in data["backlog"]} == {"idea-one", "planned-undated"}
    assert data["cadence"]["quiet_weeks"] == ["2026-06-08", "2026-06-22"]
    assert (data["from"], data["to"], data["timezone"]) == ("2026-06-01", "2026-06-30", "UTC")


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"topic": "cloud"},
        {"status": "scheduled"},
        {"assignee": "ada@example.com"},
        {"audience": "sales"},
    ],
)
def test_json_and_ics_agree(client, tokens, filters: dict[str, str]) -> None:
    items = api(client, tokens["eve"], **filters)["items"]
    events = feed(client, tokens["eve"], **filters)
    assert len(events) == len(items)
    by_uid = {str(e["UID"]): e for e in events}
    assert set(by_uid) == {i["uid"] for i in items}
    for item in items:
        start = by_uid[item["uid"]]["DTSTART"].dt
        if item["all_day"]:
            assert start.isoformat() == item["date"]
        else:
            assert start.isoformat() == item["at"]


def test_a_contributor_sees_only_their_own_in_json_and_ics(client, tokens) -> None:
    data = api(client, tokens["ada"])
    assert {i["slug"] for i in data["items"]} == {"cloud-plan"}
    assert [e["slug"] for e in data["backlog"]] == ["idea-one"]
    assert data["cadence"] is None
    assert {str(e["UID"]).split(".")[0] for e in feed(client, tokens["ada"])} == {"cloud-plan"}
    other = api(client, tokens["ada"], assignee="bob@example.com")
    assert other["items"] == [] and other["backlog"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"topic": "clod"}, "topic"), ({"from": "June"}, "from"), ({"to": "2026-05-01"}, "to")],
)
def test_bad_filters_answer_422_naming_the_field(client, tokens, params, field) -> None:
    response = client.get("/api/calendar", params=JUNE | params, headers=bearer(tokens["eve"]))
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == field
    assert response.json()["detail"]["message"].startswith(f"{field}: ")


def test_drag_and_drop_endpoint_moves_a_date_and_refuses_a_stale_version(client, tokens) -> None:
    move = {"slug": "cloud-plan", "lane": "publish", "date": "2026-06-24", "version": 1}
    moved = client.post("/api/calendar/reschedule", json=move, headers=bearer(tokens["eve"]))
    assert moved.status_code == 200, moved.text
    assert moved.json() == {
        "slug": "cloud-plan",
        "lane": "publish",
        "at": "2026-06-24T09:00:00+00:00",
        "version": 2,
        "status": "planned",
    }
    assert ("cloud-plan", "2026-06-24") in {
        (i["slug"], i["date"])
        for i in api(client, tokens["eve"])["items"]
        if i["lane"] == "publish"
    }
    stale = client.post("/api/calendar/reschedule", json=move, headers=bearer(tokens["eve"]))
    assert stale.status_code == 409
    assert stale.json()["detail"]["current"]["version"] == 2
    assert "changed since version 1" in stale.json()["detail"]["message"]


@pytest.mark.parametrize(
    ("who", "status"), [("ada", 403), ("bob", 404)], ids=["own-contributor", "other-contributor"]
)
def test_contributors_cannot_reschedule(client, tokens, who: str, status: int) -> None:
    move = {"slug": "cloud-plan", "lane": "due", "date": "2026-06-09", "version": 1}
    answer = client.post("/api/calendar/reschedule", json=move, headers=bearer(tokens[who]))
    assert answer.status_code == status


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_days_at_the_ends_of_the_calendar_answer_422_not_500(client, tokens, people, day) -> None:
    """Python's calendar ends there, and a time zone or a week's arithmetic crossed the end."""
    eve = bearer(tokens["eve"])
    for params in ({"from": day, "to": day}, {"from": "2026-06-01", "to": day}):
        answer = client.get("/api/calendar", params=params, headers=eve)
        assert answer.status_code == 422 and "out of range" in answer.json()["detail"]["message"]
        assert (
            client.get("/calendar.ics", params=params | {"token": tokens["eve"]}).status_code == 422
        )
    move = {"slug": "cloud-plan", "lane": "due", "date": day, "version": 1}
    moved = client.post("/api/calendar/reschedule", json=move, headers=eve)
    assert moved.status_code == 422 and "out of range" in moved.json()["detail"]["errors"]["date"]
    sign_in(client, people["eve"].email)
    page = client.get("/editor/calendar", params={"date": day, "view": "week"})
    assert page.status_code == 200  # the current week instead


def test_reschedule_rejects_an_unknown_lane(client, tokens) -> None:
    move = {"slug": "cloud-plan", "lane": "someday", "date": "2026-06-09", "version": 1}
    answer = client.post("/api/calendar/reschedule", json=move, headers=bearer(tokens["eve"]))
    assert answer.status_code == 422


def sign_in(client: TestClient, email: str) -> None:
    form = client.get("/editor/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/editor/login", data=data, follow_redirects=False).status_code == 303


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_dashboard_month_and_week_views(client, people) -> None:
    sign_in(client, "eve@example.com")
    month = client.get("/editor/calendar", params={"view": "month", "date": "2026-06-10"})
    assert month.status_code == 200
    html = month.text
    assert '<h2 id="grid-title">June 2026</h2>' in html
    assert 'class="status status-scheduled">scheduled</span>' in html  # colour with its word
    assert 'data-lane="due" data-version="1" data-title="Cloud plan"' in html
    assert "date=2026-05-01" in html and "date=2026-07-01" in html  # previous and next month
    assert "Unscheduled backlog" in html and "Idea one" in html
    assert "Nothing to publish in the week of" in html and "Quiet topic" in html
    week = client.get("/editor/calendar", params={"view": "week", "date": "2026-06-17"})
    assert "Week of 15 June 2026" in week.text
    assert "Cloud plan" in week.text and "Analytics sched" not in week.text
    assert "date=2026-06-08" in week.text and "date=2026-06-22" in week.text
    filtered = client.get("/editor/calendar", params={"date": "2026-06-10", "topic": "analytics"})
    assert "Analytics sched" in filtered.text and "Cloud plan" not in filtered.text
    bad = client.get("/editor/calendar", params={"topic": "clod"})
    assert "did you mean &#39;cloud&#39;" in bad.text


def test_a_contributor_dashboard_shows_only_their_items_and_no_move_controls(client, people):
    sign_in(client, "ada@example.com")
    html = client.get("/editor/calendar", params={"date": "2026-06-10"}).text
    assert "Cloud plan" in html and "Analytics sched" not in html
    assert 'draggable="true"' not in html and "Cadence warnings" not in html


def test_no_js_form_reschedules_and_explains_a_stale_version(client, people) -> None:
    sign_in(client, "eve@example.com")
    back = "/editor/calendar?view=month&date=2026-06-01"
    csrf = csrf_of(client.get(back).text)
    form = {"csrf_token": csrf, "slug": "cloud-plan", "lane": "due", "date": "2026-06-12"}
    moved = client.post(
        "/editor/calendar/reschedule",
        data=form | {"version": "1", "back": back},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == back
    page = client.get(back).text
    assert 'id="date-cloud-plan-due" type="date" name="date" value="2026-06-12"' in page
    stale = client.post("/editor/calendar/reschedule", data=form | {"version": "1", "back": back})
    assert stale.status_code == 409
    assert "was changed by someone else after this page was loaded" in unescape(stale.text)
    elsewhere = client.post(
        "/editor/calendar/reschedule",
        data=form | {"version": "2", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/editor/calendar"
    unsigned = client.post(
        "/editor/calendar/reschedule", data=form | {"csrf_token": "x", "version": "3"}
    )
    assert unsigned.status_code == 403


def test_the_page_drag_and_drop_call_needs_the_csrf_header(client, people) -> None:
    sign_in(client, "eve@example.com")
    csrf = csrf_of(client.get("/editor/calendar").text)
    move = {"slug": "planned-undated", "lane": "publish", "date": "2026-06-11", "version": 1}
    assert client.post("/api/calendar/reschedule", json=move).status_code == 403
    moved = client.post("/api/calendar/reschedule", json=move, headers={"X-CSRF-Token": csrf})
    assert moved.status_code == 200 and moved.json()["version"] == 2


def test_subscription_link_is_made_on_request_and_works(client, people) -> None:
    sign_in(client, "ada@example.com")
    page = client.get("/editor/calendar", params={"date": "2026-06-10"}).text
    assert "calendar.ics?token=" not in page
    back = "/editor/calendar?view=month&date=2026-06-10&topic=cloud"
    made = client.post(
        "/editor/calendar/feed-link", data={"csrf_token": csrf_of(page), "back": back}
    )
    assert made.status_code == 200
    link = unescape(
        re.search(r'id="feed-link" type="text" readonly value="([^"]+)"', made.text).group(1)
    )
    assert "topic=cloud" in link and "token=ed_" in link
    # the page said the link also worked as an API key, which the token never did
    advice = re.search(r'<section class="subscribe".*?</section>', made.text, re.S).group(0)
    assert "your calendar feed, and nothing else" in advice and "use the API" not in advice
    address = urlsplit(link)
    client.cookies.clear()
    answer = client.get(f"{address.path}?{address.query}&from=2026-06-01&to=2026-06-30")
    assert answer.status_code == 200
    events = icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {
        "cloud-plan.due@127.0.0.1",
        "cloud-plan.publish@127.0.0.1",
    }
    # the link's token opens this feed and nothing else: a leaked link is not an API key
    token = dict(parse_qsl(address.query))["token"]
    assert client.get("/api/calendar", params=JUNE, headers=bearer(token)).status_code == 401
    assert client.get("/api/gaps", headers=bearer(token)).status_code == 401


def test_the_backlog_form_gives_a_piece_its_first_date(client, people) -> None:
    sign_in(client, "eve@example.com")
    back = "/editor/calendar?view=week&date=2026-06-08"
    page = client.get(back).text
    assert 'id="lane-idea-one"' in page and 'id="date-idea-one-new"' in page
    form = {"csrf_token": csrf_of(page), "slug": "idea-one", "lane": "publish", "version": "1"}
    moved = client.post(
        "/editor/calendar/reschedule",
        data=form | {"date": "2026-06-10", "back": back},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    after = client.get(back).text
    assert 'id="lane-idea-one"' not in after
    assert 'id="date-idea-one-publish" type="date" name="date" value="2026-06-10"' in after
    no_date = client.post("/editor/calendar/reschedule", data=form | {"date": "", "version": "2"})
    assert no_date.status_code == 422 and "is not a date" in no_date.text


def test_month_and_week_grids() -> None:
    june = view_of("month", date(2026, 6, 17))
    assert (june.start, june.end, len(june.rows)) == (date(2026, 6, 1), date(2026, 7, 5), 5)
    assert (june.previous, june.following) == (date(2026, 5, 1), date(2026, 7, 1))
    march = view_of("month", date(2026, 3, 31))
    assert (march.start, march.end) == (date(2026, 2, 23), date(2026, 4, 5))
    week = view_of("week", date(2026, 6, 17))
    assert (week.start, week.end, week.title) == (
        date(2026, 6, 15),
        date(2026, 6, 21),
        "Week of 15 June 2026",
    )
    assert safe_back("/editor/calendar?view=week") == "/editor/calendar?view=week"
    for elsewhere in ("//evil.example/editor/calendar", "/editor/", "https://x/editor/calendar"):
        assert safe_back(elsewhere) == "/editor/calendar"
