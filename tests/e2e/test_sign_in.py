"""Signing in and out of the dashboard in a browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .steps import sign_in, sign_out
from .world import EDITOR, EXPERT


def test_editor_signs_in_and_signing_out_ends_the_session(page: Page) -> None:
    page.goto("/editor/")
    expect(page).to_have_url(re.compile(r"/editor/login\?next=/editor/"))
    page.get_by_label("E-mail address").fill(EDITOR.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()

    sign_in(page, EDITOR)
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    nav = page.get_by_role("navigation", name="Dashboard")
    expect(nav.get_by_role("link", name="Calendar")).to_be_visible()
    expect(page.get_by_text(f"{EDITOR.name} (editor)")).to_be_visible()

    sign_out(page)
    page.goto("/editor/")
    expect(page).to_have_url(re.compile(r"/editor/login"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_expert_sees_only_their_own_part_of_the_dashboard(page: Page) -> None:
    sign_in(page, EXPERT)
    nav = page.get_by_role("navigation", name="Dashboard")
    expect(nav.get_by_role("link", name="My assignments")).to_be_visible()
    expect(nav.get_by_role("link", name="Calendar")).to_have_count(0)
    sign_out(page)
