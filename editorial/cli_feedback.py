"""`editorial audit` and `editorial feedback`: what readers think, and housekeeping."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from editorial.clitools import (
    ReportFormat,
    console,
    fail,
    load_settings,
    open_store,
    screen,
)

feedback_app = typer.Typer(help="Readers' ratings and comments.", no_args_is_help=True)


def audit(
    format: Annotated[
        ReportFormat, typer.Option("--format", help="table, json or csv.")
    ] = ReportFormat.table,
) -> None:
    """Ratings and comments by audience, stage, topic, format and author; best and worst areas."""
    from sqlmodel import Session

    from editorial.audit import audit as build_audit
    from editorial.taxonomy import TaxonomyError, current_taxonomy

    settings = load_settings()
    try:
        taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    except (OSError, TaxonomyError):
        taxonomy = None  # labels fall back to the slugs
    with open_store(settings) as engine, Session(engine) as session:
        report = build_audit(session, settings, taxonomy)
    if format == ReportFormat.json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    elif format == ReportFormat.csv:
        typer.echo(report.as_csv(), nl=False)
    else:
        _print_table(report)


def _print_table(report) -> None:
    from rich.table import Table

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    table = Table(
        title=f"Reader audit (prior mean {report.prior_mean}, weight {report.prior_weight})"
    )
    for name in ("Dimension", "Term", "Pieces", "Ratings", "Mean", "Bayesian", "Comments"):
        table.add_column(name, justify="left" if name in ("Dimension", "Term") else "right")
    for g in report.groups:
        table.add_row(
            g.dimension,
            g.label,
            str(g.pieces),
            str(g.ratings),
            number(g.mean),
            number(g.bayesian),
            str(g.comments),
        )
    out = screen(soft_wrap=True)
    out.print(table)
    for title, groups in (("Best", report.best), ("Worst", report.worst)):
        names = ", ".join(f"{g.dimension} {g.label} ({number(g.bayesian)})" for g in groups)
        out.print(f"{title}: {names or f'none with {report.min_ratings} ratings yet'}")


@feedback_app.command("purge")
def purge() -> None:
    """Forget address hashes older than the retention period and finished rate-limit counters."""
    from editorial.db import session_scope
    from editorial.moderation import purge as run_purge

    settings = load_settings()
    with open_store(settings) as engine, session_scope(engine) as session:
        report = run_purge(session, settings)
    typer.echo(
        f"Cleared address hashes of {report.ratings} ratings and {report.comments} comments "
        f"older than {settings.ip_retention_days} days; removed {report.counters} counters."
    )


@feedback_app.command("pending")
def pending() -> None:
    """List comments waiting for moderation, oldest first."""
    from sqlmodel import Session

    from editorial.moderation import queue

    with open_store(load_settings()) as engine, Session(engine) as session:
        items = queue(session)
    for item in items:
        typer.echo(f"{item.id}\t{item.piece_slug}\t{item.name}\t{item.body[:60]!r}")
    console.print(f"{len(items)} comment{'s' if len(items) != 1 else ''} waiting.")


@feedback_app.command("moderate")
def moderate(
    action: Annotated[str, typer.Argument(help="approve, reject or spam.")],
    ids: Annotated[list[int], typer.Argument(help="Comment ids.")],
) -> None:
    """Approve, reject or mark as spam one or more comments by id."""
    from editorial.db import session_scope
    from editorial.moderation import ModerationError
    from editorial.moderation import moderate as run_moderate

    try:
        with open_store(load_settings()) as engine, session_scope(engine) as session:
            changed = run_moderate(session, ids, action)
    except ModerationError as error:
        fail(f"{error}")
        raise typer.Exit(1) from None
    typer.echo(f"{changed} comment{'s' if changed != 1 else ''} changed.")
