"""From a gap in coverage to an assignment on the calendar, moved by mouse and by keyboard."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from .steps import drag_to_another_week, move_with_the_keyboard, publish_lane, shoot, sign_in
from .world import EDITOR, EXPERT


def _open_heatmap(editor: Page, screenshots: Path, accessible) -> None:
    editor.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Coverage gaps"
    ).click()
    expect(editor.get_by_role("heading", level=1)).to_have_text("Coverage gaps")
    heatmap = editor.get_by_role("table", name=re.compile(r"audiences by buying stage"))
    expect(heatmap.get_by_role("rowheader", name="Finance")).to_be_visible()
    shoot(editor, screenshots, "heatmap")
    accessible(editor)
    # A square is a link: choosing it lists its pieces below the map.
    heatmap.get_by_role("row", name=re.compile(r"^Finance")).get_by_role("link").first.click()
    expect(editor.get_by_role("heading", level=2, name=re.compile(r"^Finance at "))).to_be_visible()


def _commission_first_recommendation(editor: Page) -> tuple[str, str]:
    """Commission the top recommendation; returns its title and the new piece's slug."""
    next_up = editor.get_by_role("region", name="What to commission next")
    button = next_up.get_by_role("button", name=re.compile(r"^Commission")).first
    title = re.sub(r"^Commission\s*“(.*)”$", r"\1", (button.text_content() or "").strip())
    assert title, "the recommendation's button should name it"
    button.click()
    notice = editor.get_by_role("status").filter(has_text="on the calendar")
    expect(notice).to_be_visible()
    slug = notice.get_by_role("link").inner_text()
    return title, slug


def _assign(editor: Page, slug: str, title: str) -> date:
    """Assign the piece to the expert from its workspace; returns its publish day."""
    editor.get_by_role("status").get_by_role("link", name=slug).click()
    expect(editor.get_by_role("heading", level=1)).to_have_text(title)
    editor.get_by_label("Assignee").fill(EXPERT.email)
    editor.get_by_role("button", name="Save planning").click()
    facts = editor.locator("dl.facts")
    expect(facts.locator("dt:text-is('Assignee') + dd")).to_have_text(EXPERT.email)
    published = facts.locator("dt:text-is('Publish') + dd time").get_attribute("datetime")
    assert published, "a commissioned piece has a publish date"
    return date.fromisoformat(published[:10])


def test_editor_commissions_from_the_heatmap_assigns_and_reschedules(
    page: Page, new_context, screenshots: Path, accessible
) -> None:
    sign_in(page, EDITOR)
    _open_heatmap(page, screenshots, accessible)
    title, slug = _commission_first_recommendation(page)
    day = _assign(page, slug, title)

    day = drag_to_another_week(page, title, day)
    shoot(page, screenshots, "calendar-month")
    day = move_with_the_keyboard(page, title, day)
    page.goto(f"/editor/calendar?view=week&date={day.isoformat()}")
    expect(publish_lane(page, day).get_by_text(title, exact=True)).to_be_visible()
    shoot(page, screenshots, "calendar-week")

    expert = new_context().new_page()
    sign_in(expert, EXPERT)
    expert.goto("/editor/assignments")
    expect(expert.get_by_role("heading", level=2, name=title)).to_be_visible()
