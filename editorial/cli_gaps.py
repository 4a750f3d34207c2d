"""`editorial gaps`: the coverage-gap report as tables, JSON or CSV."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from editorial.clitools import ReportFormat, fail, load_settings, open_store, screen

if TYPE_CHECKING:
    from rich.console import Console

    from editorial.gaps import GapReport
    from editorial.taxonomy import Taxonomy


def gaps_command(
    output: Annotated[
        ReportFormat, typer.Option("--format", help="table, json or csv.")
    ] = ReportFormat.table,
    topic: Annotated[str | None, typer.Option(help="Only this topic's slice of the cube.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Coverage as it was then: YYYY-MM-DD (end of day, UTC)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="How many recommendations to make.")] = 10,
) -> None:
    """Coverage of every audience x stage x topic cell, its gaps, and what to commission next."""
    from sqlmodel import Session

    from editorial.coverage import CoverageError, parse_as_of
    from editorial.gaps import gap_report
    from editorial.taxonomy import TaxonomyError, load_taxonomy

    settings = load_settings()
    try:
        taxonomy = load_taxonomy(settings.content_dir / "taxonomy.yaml")
        moment = parse_as_of(as_of) if as_of else None
        with open_store(settings) as engine, Session(engine) as session:
            report = gap_report(
                session, taxonomy, topic=topic, as_of=moment, limit=limit, tz=settings.zone
            )
    except (CoverageError, TaxonomyError) as exc:
        fail(f"{exc}")
        raise typer.Exit(1) from exc
    if output == ReportFormat.json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    elif output == ReportFormat.csv:
        typer.echo(report.to_csv(), nl=False)
    else:
        _print_tables(report, taxonomy)


def _print_tables(report: GapReport, taxonomy: Taxonomy) -> None:
    """One audience x stage grid per topic, then the recommendations."""
    from rich.table import Table

    out = screen()
    stages = taxonomy.terms("stage")
    topics = dict.fromkeys(cell.topic for cell in report.cells)
    for topic in topics:
        term = taxonomy.term("topic", topic)
        grid = Table(title=f"{term.label if term else topic}: fresh+planned/target, state")
        grid.add_column("audience", no_wrap=True)
        for stage in stages:
            grid.add_column(stage.label, no_wrap=True)
        cells = [c for c in report.cells if c.topic == topic]
        for audience in taxonomy.terms("audience"):
            row = [c for c in cells if c.audience == audience.slug]
            grid.add_row(
                audience.label, *(f"{c.fresh}+{c.planned}/{c.target} {c.state}" for c in row)
            )
        out.print(grid)
    _print_recommendations(out, report)


def _print_recommendations(out: Console, report: GapReport) -> None:
    from rich.table import Table

    table = Table(title=f"What to commission next (as of {report.as_of:%Y-%m-%d})")
    for column in ("priority", "audience", "stage", "topic", "gap", "week", "suggestion"):
        table.add_column(column, no_wrap=column != "suggestion")
    for r in report.recommendations:
        fill = f" (variant of {r.derived_from})" if r.derived_from else ""
        week = r.week.isoformat() if r.week else "no room"
        table.add_row(
            f"{r.priority:g}", r.audience, r.stage, r.topic, str(r.gap), week, r.title + fill
        )
    out.print(table)
