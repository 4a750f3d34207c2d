"""`editorial calendar`: the editorial calendar as a table, JSON, or an iCalendar file."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from editorial.clitools import (
    AudienceOption,
    FormatTermOption,
    StageOption,
    TopicOption,
    fail,
    load_settings,
    open_store,
    screen,
)

if TYPE_CHECKING:
    from editorial.calendar import Calendar


class CalendarFormat(StrEnum):
    table = "table"
    json = "json"
    ics = "ics"


def calendar_command(
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 90 days ago).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: a year ahead).")
    ] = None,
    output: Annotated[
        CalendarFormat, typer.Option("--format", help="table, json or ics.")
    ] = CalendarFormat.table,
    audience: AudienceOption = None,
    stage: StageOption = None,
    topic: TopicOption = None,
    format_term: FormatTermOption = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only pieces assigned to this address.")
    ] = None,
) -> None:
    """Show the editorial calendar: due and publish dates, the backlog and cadence warnings."""
    from sqlmodel import Session

    from editorial.calendar import EVERYONE, CalendarError, Site, calendar, make_query, parse_day
    from editorial.taxonomy import TaxonomyError

    settings = load_settings()
    filters = {"audience": audience, "stage": stage, "topic": topic, "format": format_term}
    try:
        site = Site.of(settings)
        first = parse_day(start, "--from") if start else None
        last = parse_day(end, "--to") if end else None
        query = make_query(site, first, last, status=status, assignee=assignee, **filters)
    except (CalendarError, TaxonomyError) as error:
        fail(f"{error}")
        raise typer.Exit(1) from None
    with open_store(settings) as engine, Session(engine) as session:
        result = calendar(session, site, query, EVERYONE)
    if output == CalendarFormat.json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    elif output == CalendarFormat.ics:
        from editorial.calendar_ics import to_ics

        sys.stdout.buffer.write(to_ics(result, settings.site_title, site.link))
        sys.stdout.buffer.flush()
    else:
        _print_tables(result)


def _print_tables(result: Calendar) -> None:
    """The dated items, then the backlog, then the cadence warnings."""
    from zoneinfo import ZoneInfo

    from rich.table import Table

    out = screen()
    zone = ZoneInfo(result.timezone)
    table = Table(title=f"Calendar {result.query.start} to {result.query.end} ({result.timezone})")
    for column in ("date", "time", "lane", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("slug", "assignee", "title"):
        table.add_column(column)
    for item in result.items:
        moment = "all day" if item.all_day else f"{item.at.astimezone(zone):%H:%M}"
        entry = item.entry
        table.add_row(
            str(item.day),
            moment,
            item.lane,
            entry.status,
            entry.slug,
            entry.assignee or "",
            entry.title,
        )
    out.print(table)
    if result.backlog:
        backlog = Table(title="Unscheduled backlog")
        for column in ("status", "slug", "assignee", "title"):
            backlog.add_column(column)
        for entry in result.backlog:
            backlog.add_row(entry.status, entry.slug, entry.assignee or "", entry.title)
        out.print(backlog)
    for line in cadence_lines(result):
        out.print(line, markup=False)


def cadence_lines(result: Calendar) -> list[str]:
    """The cadence warnings as sentences."""
    flags = result.cadence
    if flags is None:
        return []
    lines = [f"Nothing to publish in the week of {week.start}." for week in flags.quiet_weeks]
    for topic in flags.quiet_topics:
        last = (
            f"last published {topic.last_published}" if topic.last_published else "never published"
        )
        following = f"next on {topic.next_planned}" if topic.next_planned else "nothing planned"
        lines.append(
            f"Topic {topic.label}: no publication in {flags.topic_cadence_weeks} weeks "
            f"({last}; {following})."
        )
    return lines
