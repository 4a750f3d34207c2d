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
