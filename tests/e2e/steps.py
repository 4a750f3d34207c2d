"""Steps the journeys share: signing in and out, the accessibility check, screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

if TYPE_CHECKING:
    from conftest import Person
    from playwright.sync_api import Page

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
