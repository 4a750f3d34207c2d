"""`editorial export markdown DIR`: the store back to Markdown files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from editorial.clitools import fail, load_settings, open_store


def export_markdown_command(directory: Path, as_json: bool = False) -> None:
    """Write every piece (any status) as Markdown with front matter, plus the taxonomy."""
    from editorial.markdown_export import export_markdown

    settings = load_settings()
    if _read_by_ingest(directory, settings.content_dir):
        fail(
            f"Export failed: {directory} is inside the content folder {settings.content_dir}, "
            "so the next ingest would read every piece twice; choose a folder outside it "
            "(or one whose name starts with '_', which ingest skips)."
        )
        raise typer.Exit(1)
    try:
        with open_store(settings) as engine:
            report = export_markdown(engine, settings.content_dir, directory)
    except OSError as exc:
        fail(f"Export failed: {exc.filename or directory}: {exc.strerror}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        typer.echo(f"written {report.written} Markdown files in {directory}")
    for rel in report.stale:
        fail(
            f"{directory / rel}: not written by this export, and ingesting {directory} would "
            "read it too; remove it, or export into an empty folder."
        )
    raise typer.Exit(1 if report.stale else 0)


def _read_by_ingest(directory: Path, content_dir: Path) -> bool:
    """Whether ingesting `content_dir` would read the files written into `directory` as well
    as the files they came from: a folder below it that ingest does not skip. (The content
    folder itself is another matter: its files are the pieces' own.)"""
    try:
        below = directory.resolve().relative_to(content_dir.resolve()).parts
    except ValueError:
        return False
    return bool(below) and not any(part.startswith(("_", ".")) for part in below)
