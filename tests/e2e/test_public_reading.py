"""A reader moves through the public site: home, a piece, a term page, an author, a 404."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_reader_goes_from_home_to_a_piece_to_a_term_page(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1, name="Latest")).to_be_visible()
    first = page.locator("ol.cards h2 a").first
    title = first.inner_text()
    first.click()

    expect(page).to_have_url(re.compile(r"/pieces/[a-z0-9-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    topic = page.locator("dl.terms dt:text-is('Topic') + dd a").first
    term = topic.inner_text()
    topic.click()

    expect(page).to_have_url(re.compile(r"/topic/[a-z0-9-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(term)
    expect(page.get_by_role("link", name=title)).to_be_visible()


def test_unknown_address_shows_the_themed_not_found_page(page: Page) -> None:
    response = page.goto("/pieces/no-such-piece/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1, name="Page not found")).to_be_visible()
    page.get_by_role("link", name="latest pieces").click()
    expect(page.get_by_role("heading", level=1, name="Latest")).to_be_visible()
