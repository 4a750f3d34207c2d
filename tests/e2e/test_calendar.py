"""The editorial calendar in a browser: moving pieces by mouse and by keyboard, filters, ICS."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from conftest import EDITOR, EXPERT
from playwright.sync_api import BrowserContext, Page, expect
from steps import shoot, sign_in


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


def publish_lane(page: Page, day: date):
    return page.locator(f'[data-drop-date="{day.isoformat()}"][data-lane="publish"]')


def drag_to_another_week(editor: Page, title: str, day: date) -> date:
    """Drag the piece's publish date one week on in the month view; returns the new day."""
    target = day + timedelta(weeks=1)
    editor.goto(f"/editor/calendar?view=month&date={day.isoformat()}")
    item = publish_lane(editor, day).locator("li.item", has_text=title)
    # Step by step rather than drag_to: the lanes grow once a drag starts, so the drop point
    # is measured after the drag has begun.
    item.hover()
    editor.mouse.down()
    start = item.bounding_box()
    assert start is not None
    editor.mouse.move(start["x"] + 10, start["y"] + 10, steps=3)
    expect(editor.locator("[data-calendar].dragging")).to_have_count(1)
    drop = publish_lane(editor, target).bounding_box()
    assert drop is not None
    editor.mouse.move(drop["x"] + drop["width"] / 2, drop["y"] + drop["height"] / 2, steps=5)
    editor.mouse.up()
    expect(editor.get_by_role("status")).to_contain_text(
        f"Moved the publish date of “{title}” to {target.isoformat()}"
    )
    expect(publish_lane(editor, target).get_by_text(title, exact=True)).to_be_visible()
    expect(publish_lane(editor, day).get_by_text(title, exact=True)).to_have_count(0)
    return target


def move_with_the_keyboard(editor: Page, title: str, day: date) -> date:
    """Open the item's Move form and give it a new date, keys only; returns the new day."""
    target = day + timedelta(weeks=1)
    editor.goto(f"/editor/calendar?view=month&date={day.isoformat()}")
    summary = editor.get_by_text(f"Move the publish date of “{title}”")
    summary.focus()
    editor.keyboard.press("Enter")
    editor.keyboard.press("Tab")
    date_field = editor.get_by_label(f"New publish date for “{title}”")
    expect(date_field).to_be_focused()
    editor.keyboard.type(target.strftime("%m%d%Y"))
    expect(date_field).to_have_value(target.isoformat())
    move = editor.get_by_role("button", name="Move", exact=True).locator("visible=true")
    for _ in range(3):  # Chromium's date field takes a Tab of its own (its picker button)
        editor.keyboard.press("Tab")
        if move.evaluate("button => button === document.activeElement"):
            break
    expect(move).to_be_focused()
    editor.keyboard.press("Enter")
    expect(publish_lane(editor, target).get_by_text(title, exact=True)).to_be_visible()
    expect(publish_lane(editor, day).get_by_text(title, exact=True)).to_have_count(0)
    return target


def test_editor_moves_a_piece_by_dragging_and_with_the_keyboard(
    page: Page, screenshots: Path, accessible
) -> None:
    title = "Loyalty events that sales teams run"
    sign_in(page, EDITOR)
    day = next_month_day(3)
    plan_piece(page, title, day, "Events")
    day = drag_to_another_week(page, title, day)
    accessible(page)
    day = move_with_the_keyboard(page, title, day)
    assert day == next_month_day(17)
    shoot(page, screenshots, "calendar-month")
    page.goto(f"/editor/calendar?view=week&date={day.isoformat()}")
    expect(publish_lane(page, day).get_by_text(title, exact=True)).to_be_visible()
    shoot(page, screenshots, "calendar-week")


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
