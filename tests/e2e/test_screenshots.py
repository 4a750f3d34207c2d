"""Pictures of the main screens at desktop and phone widths, for people to look at.

The journeys take the pictures of the screens they reach (review page, calendar, heatmap);
this test takes the rest and checks that nothing is wider than the phone's screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from .steps import shoot, sign_in
from .world import EDITOR

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PUBLIC = {"home": "/", "piece": "/pieces/the-long-road-to-yes/", "term": "/stage/epiphany/"}


def _no_sideways_scroll(page: Page) -> None:
    wider = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wider <= 0, f"{page.url} is {wider}px wider than a {page.viewport_size} screen"


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_public_pages_fit_the_screen(
    new_context, screenshots: Path, width: str, viewport: dict[str, int]
) -> None:
    page = new_context(viewport=viewport, is_mobile=width == "phone").new_page()
    for name, path in PUBLIC.items():
        page.goto(path)
        _no_sideways_scroll(page)
        shoot(page, screenshots, f"{name}-{width}")


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_sign_in_and_overview_fit_the_screen(
    new_context, screenshots: Path, width: str, viewport: dict[str, int]
) -> None:
    page = new_context(viewport=viewport, is_mobile=width == "phone").new_page()
    page.goto("/editor/login")
    _no_sideways_scroll(page)
    shoot(page, screenshots, f"login-{width}")
    sign_in(page, EDITOR)
    _no_sideways_scroll(page)
    shoot(page, screenshots, f"dashboard-{width}")
