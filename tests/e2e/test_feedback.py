"""Readers rate and comment with JavaScript on and off; an editor approves; the export shows it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from .steps import sign_in
from .world import EDITOR, PAGE_CACHE_SECONDS, Live

SLUG = "lead-scoring-that-sales-believes"
WITH_JS = ("Priya from Finance", "The scoring table is the part I will reuse.")
WITHOUT_JS = ("Ola in Sales", "Read on a locked-down laptop, and the form still worked.")


def _rate(page: Page, stars: int) -> None:
    rating = page.get_by_role("group", name="Rate this piece")
    rating.get_by_role("radio", name=str(stars)).check()
    rating.get_by_role("button", name="Send rating").click()


def _comment(page: Page, name: str, body: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your comment").fill(body)
    page.get_by_role("button", name="Post comment").click()


def _reader_with_javascript(page: Page, accessible) -> None:
    page.goto(f"/pieces/{SLUG}/")
    _rate(page, 5)
    live = page.locator("#feedback .feedback-live")
    expect(live).to_have_text(re.compile(r"your rating is counted"))
    expect(page.locator(".rating-summary")).to_have_text("Rated 5.0 out of 5 by 1 reader.")
    _comment(page, *WITH_JS)
    expect(live).to_contain_text("moderator")
    accessible(page)
    expect(page.get_by_label("Your comment")).to_have_value("")
    assert page.url.endswith(f"/pieces/{SLUG}/"), "the script should have kept the reader here"


def _reader_without_javascript(page: Page) -> None:
    # a new reader, without a cookie, may get the page as cached before the first rating
    page.wait_for_timeout(PAGE_CACHE_SECONDS * 1000 + 200)
    page.goto(f"/pieces/{SLUG}/")
    expect(page.locator(".rating-summary")).to_have_text("Rated 5.0 out of 5 by 1 reader.")
    _rate(page, 2)
    expect(page).to_have_url(re.compile(r"#feedback-rated$"))
    expect(page.get_by_text("Thank you: your rating is counted.")).to_be_visible()
    expect(page.locator(".rating-summary")).to_have_text("Rated 3.5 out of 5 by 2 readers.")
    _comment(page, *WITHOUT_JS)
    expect(page).to_have_url(re.compile(r"#feedback-held$"))
    expect(page.get_by_text("your comment will appear once a moderator")).to_be_visible()
    expect(page.get_by_text(WITHOUT_JS[1])).to_have_count(0)


def _editor_approves(editor: Page, accessible) -> None:
    sign_in(editor, EDITOR)
    editor.goto("/editor/comments")
    queue = editor.get_by_role("table")
    expect(queue.get_by_text(WITH_JS[1])).to_be_visible()
    expect(queue.get_by_text(WITHOUT_JS[1])).to_be_visible()
    accessible(editor)
    editor.get_by_role("checkbox", name=WITH_JS[0]).check()
    editor.get_by_role("button", name="Approve", exact=True).click()
    expect(editor.get_by_role("status")).to_have_text("1 comment approved.")
    expect(editor.get_by_role("table").get_by_text(WITH_JS[1])).to_have_count(0)


def test_readers_rate_and_comment_and_the_approved_comment_is_exported(
    page: Page, new_context, live: Live, tmp_path: Path, accessible
) -> None:
    _reader_with_javascript(page, accessible)
    no_script: BrowserContext = new_context(java_script_enabled=False)
    reader = no_script.new_page()
    _reader_without_javascript(reader)
    _editor_approves(new_context().new_page(), accessible)

    reader.goto(f"/pieces/{SLUG}/")
    comment = reader.get_by_role("article").filter(has_text=WITH_JS[1])
    expect(comment.get_by_text(WITH_JS[0], exact=True)).to_be_visible()
    expect(reader.get_by_text(WITHOUT_JS[1])).to_have_count(0)

    out = tmp_path / "site"
    result = live.cli("export", str(out))
    assert result.returncode == 0, result.stderr
    reader.goto((out / "pieces" / SLUG / "index.html").as_uri())
    expect(reader.get_by_role("heading", name="Comments (1)")).to_be_visible()
    expect(reader.get_by_text(WITH_JS[1])).to_be_visible()
    expect(reader.get_by_text(WITHOUT_JS[1])).to_have_count(0)
