"""What every command-line module shares: settings, the store, the console, output formats."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from editorial.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine


_TERMINAL_SETTINGS = {"FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE"}  # rich reads these


class _Console:
    """The commands' console on standard error: rich's Console, made (and rich imported) on
    first use, since a command that prints one summary line need not pay for it. It prints
    text as it is (no markup), as `screen` does."""

    @cached_property
    def real(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, soft_wrap=True, markup=False)

    @property
    def is_terminal(self) -> bool:
        """Whether progress bars may be drawn. Standard error that is not a terminal, with none
        of the settings that make rich treat it as one, is answered without importing rich: a
        command run by a script or a job asks, and prints only a summary line."""
        settings = _TERMINAL_SETTINGS & os.environ.keys()
        if "real" not in self.__dict__ and not settings and not sys.stderr.isatty():
            return False
        return self.real.is_terminal

    def __getattr__(self, name: str) -> Any:
        if name == "real":  # making it failed; never recurse
            raise AttributeError(name)
        return getattr(self.real, name)


console: Console = _Console()  # type: ignore[assignment]


def screen(**options: Any) -> Console:
    """A console on standard output for tables, printing text as it is: titles, labels and
    paths may hold brackets, which rich would read as markup ('[/x]' stops the command)."""
    from rich.console import Console

    return Console(markup=False, **options)


def fail(message: str) -> None:
    """Print an error for a person, in red, taken literally (paths may hold brackets)."""
    console.print(message, style="red", markup=False, highlight=False)


# The term filters that `pieces` and `calendar` share.
AudienceOption = Annotated[str | None, typer.Option(help="Only this audience term.")]
StageOption = Annotated[str | None, typer.Option(help="Only this stage term.")]
TopicOption = Annotated[str | None, typer.Option(help="Only this topic term.")]
FormatTermOption = Annotated[
    str | None, typer.Option("--format-term", help="Only this format term.")
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def load_settings(content_dir: Path | None = None) -> Settings:
    """Settings from the environment, with the content folder overridden when given. A value
    that cannot be used is named, with what is wrong with it, and the command exits 2."""
    from pydantic import ValidationError

    try:
        settings = Settings()
    except UnicodeDecodeError as exc:  # from the .env file; the environment is text already
        where = Path(str(Settings.model_config.get("env_file"))).resolve()
        fail(f"Settings file {where}: not UTF-8 text (byte {exc.start}); save it as UTF-8.")
        raise SystemExit(2) from None
    except ValidationError as exc:
        for error in exc.errors():
            name = "EDITORIAL_" + "_".join(str(part) for part in error["loc"]).upper()
            fail(f"Setting {name}: {error['msg'].removeprefix('Value error, ')}")
        raise SystemExit(2) from None
    if content_dir is not None:
        settings = settings.model_copy(update={"content_dir": content_dir})
    return settings


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM (a job's time limit, systemd stopping a service) unwinds
    the command as Ctrl-C does (exit 143), so that its clean-up runs. Only for commands that
    fork no workers: a worker that inherited the handler and raised while holding its pool's
    queue lock would leave the pool, and the command, waiting for ever."""
    import signal

    def stopped(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def open_store(settings: Settings, migrate: bool = True) -> Iterator[Engine]:
    """The store's engine, upgraded, and disposed of when the command is done with it. A store
    that cannot be reached or used is named, with why, and the command exits 1."""
    from editorial.db import StoreError

    engine = _reach(settings.database_url, migrate)
    try:
        yield engine
    except StoreError as exc:  # `db upgrade` upgrades in the command
        raise _cannot_use(settings.database_url, exc) from None
    finally:
        engine.dispose()


def _reach(url: str, migrate: bool) -> Engine:
    """An engine that has connected once, and upgraded the schema when `migrate`."""
    from sqlalchemy.exc import SQLAlchemyError

    from editorial.db import StoreError, make_engine, upgrade

    engine = None
    try:
        engine = make_engine(url)
        with engine.connect():
            pass
        if migrate:
            upgrade(engine)
        return engine
    except (SQLAlchemyError, ImportError, StoreError) as exc:
        if engine is not None:
            engine.dispose()
        raise _cannot_use(url, exc) from None


def _cannot_use(url: str, exc: Exception) -> SystemExit:
    """Say which store could not be used and why (its password hidden); the exit to raise."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from editorial.db import StoreError

    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    if not isinstance(exc, StoreError):
        reason += "; check the address, and that its folder or database server is there"
    where = make_url(url).render_as_string(hide_password=True)
    fail(f"Cannot use the store at {where} (EDITORIAL_DATABASE_URL): {reason}")
    return SystemExit(1)
