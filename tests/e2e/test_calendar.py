"""The editorial calendar in a browser: filters and the private ICS subscription link.

Moving pieces by mouse and by keyboard is part of the commissioning journey
(test_commissioning.py).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import BrowserContext, Page, expect

from .steps import publish_lane, sign_in
from .world import EDITOR, EXPERT


def next_month_day(day: int) -> date:
    """A day of next month (the server's clock is the real one), clear of month edges."""
    today = datetime.now(UTC).date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=day)


def plan_piece(editor: Page, title: str, publish: date, topic: str) -> str:
    """Plan a piece for the expert, to publish on `publish`; returns its slug."""
    editor.goto("/editor/plan")
    editor.get_by_label("Title").fill(title)
    editor.get_by_role("group", name="Audience").get_by_label("Sales").check()
    editor.get_by_role("group", name="Stage").get_by_label("Loyalty").check()
    editor.get_by_role("group", name="Topic").get_by_label(topic).check()
    editor.get_by_label("Assignee").fill(EXPERT.email)
    editor.get_by_label("Target publish date (UTC)").fill(f"{publish.isoformat()}T09:00")
    editor.get_by_role("button", name="Plan the piece").click()
    expect(editor.get_by_role("heading", level=1)).to_have_text(title)
    return editor.url.rstrip("/").rsplit("/", 1)[-1]


def test_calendar_filters_and_subscription_link(
    page: Page, context: BrowserContext, accessible
) -> None:
    title = "Customer council minutes that travel"
    sign_in(page, EDITOR)
    day = next_month_day(11)
    plan_piece(page, title, day, "Customer Councils")
    page.goto(f"/editor/calendar?view=month&date={day.isoformat()}")
    expect(publish_lane(page, day).get_by_text(title, exact=True)).to_be_visible()

    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Topic").select_option("cloud")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"topic=cloud"))
    expect(page.get_by_text(title, exact=True)).to_have_count(0)

    filters.get_by_label("Topic").select_option("customer-councils")
    filters.get_by_label("Assignee").select_option(EXPERT.email)
    filters.get_by_role("button", name="Apply filters").click()
    expect(publish_lane(page, day).get_by_text(title, exact=True)).to_be_visible()

    page.get_by_role("button", name="Create a private subscription link").click()
    link = page.get_by_label(re.compile(r"^Your private subscription link")).input_value()
    assert "topic=customer-councils" in link and "token=" in link
    accessible(page)
    feed = context.request.get(link)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in feed.text() and title in feed.text()
    elsewhere = context.request.get(link.replace("customer-councils", "cloud"))
    assert title not in elsewhere.text()
    forged = context.request.get(re.sub(r"token=[^&]+", "token=forged", link))
    assert forged.status == 404
