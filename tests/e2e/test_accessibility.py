"""axe-core finds no serious or critical violation on any public or dashboard page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from .steps import assert_accessible, sign_in
from .world import EDITOR, EXPERT, Person

PUBLIC = {
    "home": "/",
    "piece": "/pieces/the-long-road-to-yes/",
    "term": "/topic/idea-marketing/",
    "author": "/authors/dana-reyes/",
    "not-found": "/pieces/no-such-piece/",
}
DASHBOARD = {
    "overview": ("/editor/", EDITOR),
    "calendar-month": ("/editor/calendar", EDITOR),
    "calendar-week": ("/editor/calendar?view=week", EDITOR),
    "review-queue": ("/editor/review", EDITOR),
    "gaps": ("/editor/gaps", EDITOR),
    "gaps-cell": ("/editor/gaps?audience=finance&stage=consideration", EDITOR),
    "plan": ("/editor/plan", EDITOR),
    "workspace": ("/editor/pieces/analytics-for-the-executive-table", EDITOR),
    "draft": ("/editor/pieces/zero-trust-for-the-business-side/draft", EDITOR),
    "review": ("/editor/review/analytics-for-the-executive-table", EDITOR),
    "comments": ("/editor/comments", EDITOR),
    "audit": ("/editor/audit", EDITOR),
    "assignments": ("/editor/assignments", EXPERT),
}


@pytest.mark.parametrize("path", PUBLIC.values(), ids=PUBLIC.keys())
def test_public_page_is_accessible(page: Page, axe_script: Path, path: str) -> None:
    page.goto(path)
    assert_accessible(page, axe_script)


def test_login_page_is_accessible_with_and_without_an_error(page: Page, axe_script: Path) -> None:
    page.goto("/editor/login")
    assert_accessible(page, axe_script)
    page.get_by_label("E-mail address").fill(EDITOR.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert_accessible(page, axe_script)


@pytest.mark.parametrize(("path", "person"), DASHBOARD.values(), ids=DASHBOARD.keys())
def test_dashboard_page_is_accessible(
    page: Page, axe_script: Path, path: str, person: Person
) -> None:
    sign_in(page, person)
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    assert_accessible(page, axe_script)
