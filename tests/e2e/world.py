"""The world the journeys act in: the people with accounts, and the running server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "correct horse battery"
# How long the server may answer a reader without a cookie from its page cache. Readers' own
# ratings and comments do not empty it (at hundreds a second they would make it useless), so
# such a reader may see a summary up to this old.
PAGE_CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Person:
    """A team member the suite created, with the password to sign in."""

    name: str
    email: str
    role: str
    password: str = PASSWORD


EDITOR = Person("Erin Editor", "erin@example.com", "editor")
EXPERT = Person("Sam Expert", "sam@example.com", "contributor")


@dataclass(frozen=True)
class Live:
    """The running server and what it was started with."""

    url: str
    env: dict[str, str]
    content_dir: Path
    database_url: str
    log: Path

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run `editorial ARGS` against the same store and content as the server."""
        return subprocess.run(
            [str(editorial_script()), *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def editorial_script() -> Path:
    """The `editorial` console script of the Python running the tests."""
    script = Path(sys.executable).with_name("editorial")
    return script if script.exists() else Path(shutil.which("editorial") or "editorial")
