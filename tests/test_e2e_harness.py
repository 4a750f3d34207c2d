"""The browser suite's harness: left out of a plain run, skips with directions when the browser
is missing, and fails instead when the run requires it (as .ci/run does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JOURNEY = "tests/e2e/test_sign_in.py"


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDITORIAL_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_plain_run_leaves_the_browser_suite_out() -> None:
    listed = _pytest("--collect-only", "tests/test_e2e_harness.py", "tests/e2e")
    assert "tests/e2e/test_sign_in.py::" in listed.stdout, "naming the folder runs it"
    plain = _pytest("--collect-only", "tests")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "tests/e2e/" not in plain.stdout and "deselected" in plain.stdout


def test_missing_browser_skips_with_directions() -> None:
    result = _pytest(JOURNEY, EDITORIAL_CHROMIUM="/nonexistent/chromium")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "No Chromium at /nonexistent/chromium" in result.stdout
    assert "apt-get install -y chromium" in result.stdout and ".[e2e]" in result.stdout


def test_missing_browser_fails_when_the_suite_is_required() -> None:
    result = _pytest(JOURNEY, EDITORIAL_CHROMIUM="/nonexistent/chromium", EDITORIAL_REQUIRE_E2E="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No Chromium at /nonexistent/chromium" in result.stdout
    assert "skipped" not in result.stdout
