"""A piece goes from its plan to the public site through draft, review and scheduling."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from .steps import shoot, sign_in
from .world import EDITOR, EXPERT

TITLE = "Security questions finance asks in week one"
DRAFT = """---
title: {title}
audience: {audience}
stage: consideration
topic: security
format: white-paper
summary: What a controller wants to know before signing off a security budget.
---

Finance reads a security budget as insurance with an uncertain premium.

## The three questions

Which losses does it prevent, how likely are they, and what does the control cost each year?
"""


def _upload(page: Page, audience: str) -> None:
    text = DRAFT.format(title=TITLE, audience=audience)
    page.get_by_label("Markdown file").set_input_files(
        {"name": "week-one.md", "mimeType": "text/markdown", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload and send for review").click()


def _next_minute() -> datetime:
    """The next whole UTC minute at least 15 s away: the form takes minutes, not seconds."""
    now = datetime.now(UTC)
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment if moment - now >= timedelta(seconds=15) else moment + timedelta(minutes=1)


def _plan(editor: Page) -> str:
    """The editor plans the piece for the expert; returns its slug."""
    editor.goto("/editor/plan")
    editor.get_by_label("Title").fill(TITLE)
    editor.get_by_role("group", name="Audience").get_by_label("Finance").check()
    editor.get_by_role("group", name="Stage").get_by_label("Consideration").check()
    editor.get_by_role("group", name="Topic").get_by_label("Security").check()
    editor.get_by_label("Assignee").fill(EXPERT.email)
    editor.get_by_label("Brief for the writer").fill("Three questions, one page, no jargon.")
    editor.get_by_role("button", name="Plan the piece").click()
    expect(editor.get_by_role("heading", level=1)).to_have_text(TITLE)
    return editor.url.rstrip("/").rsplit("/", 1)[-1]


def _expert_submits_a_draft(expert: Page, accessible) -> None:
    """Upload with a wrong term, read the error beside the file field, fix it, submit."""
    expert.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="My assignments"
    ).click()
    assignment = expert.get_by_role("region", name=TITLE)
    expect(assignment.get_by_text("Three questions, one page, no jargon.")).to_be_visible()
    assignment.get_by_role("link", name="Write the draft").click()

    _upload(expert, audience="finanse")
    file_field = expert.get_by_label("Markdown file")
    expect(file_field).to_have_attribute("aria-invalid", "true")
    expect(file_field).to_have_accessible_description(
        re.compile(r"audience.*'finanse'.*did you mean 'finance'")
    )
    accessible(expert)

    _upload(expert, audience="finance")
    expect(expert.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(expert.locator("dl.facts")).to_contain_text("review")


def _editor_requests_changes(editor: Page, screenshots: Path, accessible) -> None:
    editor.goto("/editor/review")
    editor.get_by_role("link", name=TITLE).click()
    expect(editor.get_by_role("heading", level=1)).to_have_text(f"Review: {TITLE}")
    changes = editor.get_by_label(re.compile(r"^Changes since revision"))
    expect(changes.locator("ins").filter(has_text="The three questions")).to_be_visible()
    shoot(editor, screenshots, "review-page")
    accessible(editor)
    editor.get_by_label("What should change (required)").fill("Add a worked example with figures.")
    editor.get_by_role("button", name="Request changes").click()
    expect(editor).to_have_url(re.compile(r"/editor/review$"))


def _expert_resubmits(expert: Page, accessible) -> None:
    expert.goto("/editor/assignments")
    assignment = expert.get_by_role("region", name=TITLE)
    expect(assignment.get_by_text("Add a worked example with figures.")).to_be_visible()
    accessible(expert)
    assignment.get_by_role("link", name="Write the draft").click()
    body = expert.get_by_label("Text (Markdown)")
    body.fill(
        body.input_value() + "\nA worked example: 40,000 a year against a 2% chance of a 5m loss.\n"
    )
    expert.get_by_role("button", name="Save and send for review").click()
    expect(expert.locator("dl.facts")).to_contain_text("review")


def _editor_approves_and_schedules(editor: Page, slug: str) -> datetime:
    """Returns the moment the piece is scheduled for, taken just before the form is filled:
    a moment that has passed by the time it is sent would be refused."""
    editor.goto(f"/editor/review/{slug}")
    changes = editor.get_by_label(re.compile(r"^Changes since revision"))
    expect(changes.locator("ins").filter(has_text="A worked example")).to_be_visible()
    editor.get_by_role("button", name="Approve", exact=True).click()
    expect(editor).to_have_url(re.compile(r"/editor/review$"))
    editor.goto(f"/editor/pieces/{slug}")
    moment = _next_minute()
    editor.get_by_label("Publish at (UTC)").fill(moment.strftime("%Y-%m-%dT%H:%M"))
    editor.get_by_role("button", name="Move to scheduled").click()
    expect(editor.locator("dl.facts")).to_contain_text("scheduled")
    return moment


def _appears_when_its_time_comes(reader: Page, slug: str, moment: datetime) -> None:
    response = reader.goto(f"/pieces/{slug}/")
    assert response is not None
    if datetime.now(UTC) < moment - timedelta(seconds=2):
        assert response.status == 404, "a scheduled piece was public before its time"
    deadline = moment + timedelta(seconds=30)
    while response.status == 404 and datetime.now(UTC) < deadline:
        time.sleep(1)
        response = reader.goto(f"/pieces/{slug}/")
        assert response is not None
    assert response.status == 200, f"not public 30 s after {moment:%H:%M} UTC"
    expect(reader.get_by_role("heading", level=1)).to_have_text(TITLE)
    reader.goto("/")
    expect(reader.get_by_role("link", name=TITLE)).to_be_visible()


def test_piece_goes_from_plan_to_public_site(
    context: BrowserContext, new_context, screenshots: Path, accessible
) -> None:
    editor = context.new_page()
    expert = new_context().new_page()
    reader = new_context().new_page()
    sign_in(editor, EDITOR)
    sign_in(expert, EXPERT)

    slug = _plan(editor)
    _expert_submits_a_draft(expert, accessible)
    _editor_requests_changes(editor, screenshots, accessible)
    _expert_resubmits(expert, accessible)
    moment = _editor_approves_and_schedules(editor, slug)
    _appears_when_its_time_comes(reader, slug, moment)
