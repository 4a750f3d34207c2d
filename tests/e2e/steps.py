"""Steps the journeys share: signing in and out, the accessibility check, screenshots."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from .world import Person

# Impacts that fail the check; "minor" and "moderate" findings are reported, not failed.
BLOCKING = {"serious", "critical"}


def sign_in(page: Page, person: Person, next_path: str = "") -> None:
    """Sign in through the form, as a person would."""
    page.goto("/editor/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    """Sign out from the masthead."""
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/editor/login"))


def axe_violations(page: Page, axe_script: Path) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script> tag: the site's CSP rightly blocks inline script.
        page.evaluate(axe_script.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def assert_accessible(page: Page, axe_script: Path) -> None:
    """No serious or critical axe-core violation; the message lists each one and where."""
    violations = axe_violations(page, axe_script)
    for advisory in (v for v in violations if v.get("impact") not in BLOCKING):
        targets = "; ".join(", ".join(n["target"]) for n in advisory["nodes"][:3])
        print(f"axe {advisory['impact']}: {advisory['id']} on {page.url} at {targets}")
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    lines = [f"{page.url}: {len(blocking)} serious/critical accessibility violations"]
    for violation in blocking:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    at {', '.join(node['target'])}: {node.get('failureSummary', '')}")
    assert not blocking, "\n".join(lines)


def shoot(page: Page, folder: Path, name: str, full_page: bool = True) -> Path:
    """A PNG of the page, named for what it shows."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def publish_lane(page: Page, day: date) -> Locator:
    """The publish lane of one day on the calendar page."""
    return page.locator(f'[data-drop-date="{day.isoformat()}"][data-lane="publish"]')


def week_away(day: date) -> date:
    """A day one week later, or earlier when a week later is past the end of the month grid."""
    last = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    grid_end = last + timedelta(days=6 - last.weekday())  # the Sunday that ends the grid
    later = day + timedelta(weeks=1)
    return later if later <= grid_end else day - timedelta(weeks=1)


def drag_to_another_week(editor: Page, title: str, day: date) -> date:
    """Drag the piece's publish date a week away in the month view; returns the new day."""
    target = week_away(day)
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
    """Open the item's Move form and give it a date a week away, keys only; returns the day."""
    target = week_away(day)
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
