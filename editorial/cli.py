"""The `editorial` command: thin calls into the domain functions."""

from __future__ import annotations

import gc
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from editorial.__main__ import BATCH_GC_THRESHOLDS, SERVER_GC_THRESHOLDS
from editorial.cli_backup import dump_command, restore_command
from editorial.cli_calendar import calendar_command
from editorial.cli_feedback import audit, feedback_app
from editorial.cli_gaps import gaps_command
from editorial.cli_pieces import list_pieces_command
from editorial.cli_users import users_app
from editorial.clitools import console, fail, load_settings, open_store
from editorial.settings import Settings, check_base_url

app = typer.Typer(
    help="Editorial: plan, ingest, review and publish B2B content.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(feedback_app, name="feedback")
app.command("audit")(audit)
app.command("calendar")(calendar_command)
app.command("gaps")(gaps_command)
app.command("pieces")(list_pieces_command)
app.command("dump")(dump_command)
app.command("restore")(restore_command)
SKELETON = Path(__file__).resolve().parent / "skeleton"


def _folder(value: str) -> Path:
    """A folder named on the command line; an empty name (an unset "$OUT" in a script) would
    mean the current folder, and the site would be written all over it."""
    if not value.strip():
        raise typer.BadParameter("the folder is empty; name one (or '.' for this folder)")
    return Path(value)


OutOption = Annotated[
    Path, typer.Argument(help="Folder to write the static site into.", parser=_folder)
]


def _checked_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_base_url(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        help="Public address of the exported site (default: settings).",
        callback=_checked_base_url,
    ),
]
StrictOption = Annotated[bool, typer.Option(help="Fail on a broken internal link.")]
FullOption = Annotated[bool, typer.Option(help="Rewrite every file, changed or not.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new site's content.")],
) -> None:
    """Create a new content folder: a taxonomy and two example pieces."""
    if directory.is_file():
        fail(f"{directory} is a file; choose a new folder.")
        raise typer.Exit(1)
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} is not empty; choose a new folder.")
        raise typer.Exit(1)
    try:
        shutil.copytree(SKELETON, directory, dirs_exist_ok=True)
    except OSError as exc:
        fail(f"Cannot create {directory}: {exc.strerror or exc}; choose a folder you can write.")
        raise typer.Exit(1) from None
    console.print(f"Created {directory}. Next: EDITORIAL_CONTENT_DIR={directory} editorial serve")


@app.command()
def ingest(
    content_dir: Annotated[
        Path | None, typer.Argument(help="Content folder (default: settings).")
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    workers: Annotated[int, typer.Option(min=0, help="Parser processes (0: one per core).")] = 0,
) -> None:
    """Read Markdown pieces into the store; exit 1 if any file is invalid."""
    settings = load_settings(content_dir)
    with open_store(settings) as engine:
        report = _ingest_step(settings, engine, quiet or as_json, workers)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(report)
    raise typer.Exit(1 if report.errors else 0)


def _ingest_step(settings: Settings, engine, quiet: bool, workers: int):
    """Run ingest with a progress bar on a terminal; a missing folder or taxonomy exits 1."""
    from editorial.ingest import ingest as run_ingest
    from editorial.taxonomy import TaxonomyError

    if not settings.content_dir.is_dir():
        fail(f"No content folder at {settings.content_dir}.")
        raise typer.Exit(1)
    try:
        with _progress(not quiet and console.is_terminal, "Ingesting") as (on_total, on_advance):
            return run_ingest(
                engine,
                settings.content_dir,
                workers=workers or settings.ingest_workers,
                on_total=on_total,
                on_advance=on_advance,
            )
    except TaxonomyError as exc:
        fail(f"{exc}")
        raise typer.Exit(1) from exc


class _progress:
    """A rich progress bar when shown, silent callbacks otherwise."""

    def __init__(self, show: bool, label: str) -> None:
        self.bar = self._bar(label) if show else None
        self.task = None

    @staticmethod
    def _bar(label: str):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        return Progress(*columns, console=console.real, transient=True)

    def __enter__(self):
        if self.bar is None:
            return None, None
        self.bar.start()
        self.task = self.bar.add_task("", total=None)
        return (
            lambda n: self.bar.update(self.task, total=n),
            lambda n: self.bar.advance(self.task, n),
        )

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_report(report) -> None:
    typer.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"removed {report.removed}, errors {len(report.errors)}"
    )
    for error in report.errors:
        typer.echo(f"{error['path']}: {error['message']}", err=True)
    for conflict in report.conflicts:
        typer.echo(f"{conflict['path']}: conflict: {conflict['message']}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the site and API; ingests the content folder first if the store is empty."""
    import uvicorn

    from app.main import create_app
    from app.security import log_config
    from editorial.ingest import ingest as run_ingest
    from editorial.pieces import count_pieces

    settings = load_settings()
    _check_taxonomy(settings)
    address = _served_at(host, port)
    if "base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"base_url": address})
    with open_store(settings) as engine:
        if count_pieces(engine) == 0 and settings.content_dir.is_dir():
            report = run_ingest(engine, settings.content_dir, workers=settings.ingest_workers)
            _print_report(report)
    console.print(f"Serving {settings.content_dir} at {address}")
    gc.set_threshold(*SERVER_GC_THRESHOLDS)  # short, frequent collections for a long-lived server
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=False,
        log_config=log_config(),  # tokens in query strings are redacted from the access log
    )


def _served_at(host: str, port: int) -> str:
    """The server's own address; an IPv6 host goes in brackets, as in every URL."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _check_taxonomy(settings: Settings) -> None:
    """Every page needs the site's taxonomy: without it a server would answer 500 to every
    page, so `serve` exits 1 and says what to do instead."""
    from editorial.taxonomy import TaxonomyError, current_taxonomy

    try:
        current_taxonomy(settings.content_dir / "taxonomy.yaml")
    except TaxonomyError as exc:
        fail(
            f"Cannot serve: {exc}. Set EDITORIAL_CONTENT_DIR to the site's content folder "
            "(or make one with 'editorial init DIR')."
        )
        raise typer.Exit(1) from None


@app.command()
def export(
    out: OutOption,
    directory: Annotated[
        Path | None,
        typer.Argument(help="After the word markdown: the folder for the files.", parser=_folder),
    ] = None,
    base_url: BaseUrlOption = None,
    strict: StrictOption = False,
    full: FullOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    workers: Annotated[int, typer.Option(min=0, help="Render processes (0: one per core).")] = 0,
) -> None:
    """Write the public site as static files (only changed files are rewritten);
    `export markdown DIR` writes every piece as Markdown with front matter instead."""
    if directory is not None:
        _export_markdown(out, directory, as_json)
        return
    settings = load_settings()
    with open_store(settings) as engine:
        report = _export_step(settings, engine, out, base_url, full, workers, quiet or as_json)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_export(report, out)
    raise typer.Exit(1 if report.errors or (strict and report.broken_links) else 0)


@app.command()
def build(
    out: OutOption,
    base_url: BaseUrlOption = None,
    strict: StrictOption = False,
    full: FullOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Ingest the content folder, then export the site: one command for a publishing job."""
    settings = load_settings()
    with open_store(settings) as engine:
        ingested = _ingest_step(settings, engine, quiet or as_json, 0)
        exported = _export_step(settings, engine, out, base_url, full, 0, quiet or as_json)
    if as_json:
        typer.echo(
            json.dumps({"ingest": ingested.as_json(), "export": exported.as_json()}, indent=2)
        )
    else:
        _print_report(ingested)
        _print_export(exported, out)
    failed = ingested.errors or exported.errors or (strict and exported.broken_links)
    raise typer.Exit(1 if failed else 0)


def _export_markdown(word: Path, directory: Path, as_json: bool) -> None:
    from editorial.cli_workflow import export_markdown_command

    if str(word) != "markdown":
        fail(f"Unexpected '{directory}': use 'export OUT' or 'export markdown DIR'.")
        raise typer.Exit(2)
    export_markdown_command(directory, as_json)


def _export_step(
    settings: Settings,
    engine,
    out: Path,
    base_url: str | None,
    full: bool,
    workers: int,
    quiet: bool,
):
    """Run the export with a progress bar on a terminal; a refused path, a broken taxonomy or
    an unwritable folder exits 1."""
    from editorial.export import ExportError, export_site
    from editorial.taxonomy import TaxonomyError

    try:
        with _progress(not quiet and console.is_terminal, "Exporting") as (total, advance):
            return export_site(
                engine,
                settings,
                out,
                base_url=base_url,
                full=full,
                workers=workers,
                on_total=total,
                on_advance=advance,
            )
    except (ExportError, TaxonomyError) as exc:
        fail(f"Export failed: {exc}")
        raise typer.Exit(1) from exc
    except OSError as exc:
        fail(f"Export failed: {exc.filename or out}: {exc.strerror}")
        raise typer.Exit(1) from exc


def _print_export(report, out: Path) -> None:
    typer.echo(
        f"written {report.written}, unchanged {report.unchanged}, "
        f"removed {report.removed} ({report.files} files in {out})"
    )
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    for broken in report.broken_links:
        fix = broken.get("fix")
        hint = f" (misses the site's path prefix; write '{fix}')" if fix else ""
        typer.echo(f"broken link: {broken['page']} -> {broken['link']}{hint}", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the store's schema to the newest migration."""
    from editorial.db import current_revision, upgrade

    with open_store(load_settings(), migrate=False) as engine:
        changed = upgrade(engine)
        revision = current_revision(engine)
    state = "upgraded to" if changed else "already at"
    typer.echo(f"Store {state} revision {revision}.")


def main() -> None:
    """Console-script entry point (through `editorial.__main__`, or `python -m editorial.cli`).

    The cycle collector runs rarely in a command (see `editorial.__main__`): walking the
    accumulating rows and entries again and again cost about 40% of loading a 10,000-piece
    catalog. It never walks the modules imported at start-up. Nor does it walk anything when
    the command is done: the interpreter's last collection at exit went over every object the
    command had made, 50-90 ms of an export's exit, for memory the process hands back anyway.
    Objects that nothing refers to any more are still freed, and their finalisers run."""
    gc.freeze()
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    try:
        app(prog_name="editorial")
    finally:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
