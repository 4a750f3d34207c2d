"""`editorial pieces`: the pieces of every status, filtered, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from editorial.clitools import (
    AudienceOption,
    FormatTermOption,
    OutputFormat,
    StageOption,
    TopicOption,
    fail,
    load_settings,
    open_store,
    screen,
)
from editorial.settings import Settings


def _known_status(value: str | None) -> str | None:
    """A status filter names a status, as in /api/pieces: a typo would list nothing."""
    from editorial.models import Status

    if value is not None and value not in set(Status):
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(Status)}")
    return value


def _resolved(settings: Settings, **given: str | None) -> list[str | None]:
    """Each term filter as the slug it names, by slug or label in any case, as pieces are
    tagged; an unknown term is an error naming the closest declared one, where it would list
    nothing. Without a readable taxonomy the filters are taken as written."""
    from editorial.coverage import CoverageError, resolve_term
    from editorial.taxonomy import TaxonomyError, load_taxonomy

    if not any(given.values()):
        return list(given.values())
    try:
        taxonomy = load_taxonomy(settings.content_dir / "taxonomy.yaml")
    except (OSError, TaxonomyError):
        return list(given.values())
    try:
        return [value and resolve_term(taxonomy, dim, value) for dim, value in given.items()]
    except CoverageError as exc:
        fail(f"{exc}")
        raise typer.Exit(1) from exc


def list_pieces_command(
    audience: AudienceOption = None,
    stage: StageOption = None,
    topic: TopicOption = None,
    format_term: FormatTermOption = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status.", callback=_known_status)
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text in title or summary.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many rows.")] = 50,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
) -> None:
    """List pieces of every status, newest first, with filters."""
    from rich.table import Table
    from sqlmodel import Session

    from editorial.pieces import PieceQuery, list_pieces

    settings = load_settings()
    terms = _resolved(settings, audience=audience, stage=stage, topic=topic, format=format_term)
    query = PieceQuery(*terms, status, search, 1, limit)
    with open_store(settings) as engine, Session(engine) as session:
        pieces, total = list_pieces(session, query, public_only=False)
    if output == OutputFormat.json:
        rows = [p.model_dump(mode="json", exclude={"body", "html", "front_matter"}) for p in pieces]
        typer.echo(json.dumps({"total": total, "items": rows}, indent=2))
        return
    table = Table(caption=f"{len(pieces)} of {total}")
    for column in ("slug", "status", "publish", "due", "format"):
        table.add_column(column, no_wrap=True)
    table.add_column("title")
    for p in pieces:
        table.add_row(
            p.slug,
            p.status,
            f"{p.publish_at:%Y-%m-%d}" if p.publish_at else "",
            f"{p.due_at:%Y-%m-%d}" if p.due_at else "",
            p.format or "",
            p.title,
        )
    screen().print(table)
