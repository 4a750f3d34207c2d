"""The calendar domain: items and lanes, filters, visibility, backlog, cadence flags, time
zones, the ICS rendering, rescheduling through the workflow, and `editorial calendar`."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from calendar_corpus import at, build, write_taxonomy
from sqlmodel import Session, select
from typer.testing import CliRunner

from editorial import workflow
from editorial.calendar import (
    EVERYONE,
    Calendar,
    CalendarError,
    Site,
    Viewer,
    calendar,
    make_query,
    moved_moment,
    reschedule,
)
from editorial.calendar_ics import to_ics
from editorial.cli import app as cli
from editorial.models import Piece, Revision, User
from editorial.settings import Settings

JUNE = (date(2026, 6, 1), date(2026, 6, 30))


@pytest.fixture
def site(settings: Settings, content_dir: Path) -> Site:
    write_taxonomy(content_dir)
    return Site.of(settings)


@pytest.fixture
def people(session: Session, frozen_clock: datetime, site: Site) -> dict[str, User]:
    return build(session)


def june(session: Session, site: Site, viewer: Viewer = EVERYONE, **filters: str) -> Calendar:
    return calendar(session, site, make_query(site, *JUNE, **filters), viewer)


def lanes(result: Calendar) -> list[tuple[str, str, str]]:
    return [(i.entry.slug, i.lane, i.day.isoformat()) for i in result.items]


def test_every_due_and_publish_date_in_range_is_an_item_in_its_lane(session, site, people):
    result = june(session, site)
    assert lanes(result) == [
        ("analytics-sched", "publish", "2026-06-03"),
        ("cloud-plan", "due", "2026-06-05"),
        ("cloud-plan", "publish", "2026-06-16"),
    ]
    due, published = result.items[1], result.items[2]
    assert due.all_day and not published.all_day
    assert due.uid == "cloud-plan.due@127.0.0.1" != published.uid
    shape = published.as_json()
    assert set(shape) >= {"slug", "title", "status", "date", "lane", "assignee", "terms", "version"}
    assert shape["terms"]["topic"] == ["cloud"]
    assert shape["assignee"] == "ada@example.com" and shape["version"] == 1


def test_planned_and_scheduled_stay_distinct_and_a_passed_schedule_shows_published(
    session, site, people
):
    may = calendar(session, site, make_query(site, date(2026, 5, 1), date(2026, 6, 30)), EVERYONE)
    statuses = {i.entry.slug: i.entry.status for i in may.items}
    assert statuses == {
        "cloud-live": "published",
        "analytics-sched": "scheduled",
        "cloud-plan": "planned",
    }
    scheduled = calendar(
        session, site, make_query(site, date(2026, 5, 1), JUNE[1], status="scheduled"), EVERYONE
    )
    assert [i.entry.slug for i in scheduled.items] == ["analytics-sched"]
    published = calendar(
        session, site, make_query(site, date(2026, 5, 1), JUNE[1], status="published"), EVERYONE
    )
    assert [i.entry.slug for i in published.items] == ["cloud-live"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"audience": "cio"}, {"cloud-plan"}),
        ({"stage": "consideration"}, {"analytics-sched"}),
        ({"topic": "analytics"}, {"analytics-sched"}),
        ({"format": "blog-post"}, {"cloud-plan"}),
        ({"status": "planned"}, {"cloud-plan"}),
        ({"assignee": "BOB@example.com"}, {"analytics-sched"}),
        ({"audience": "cio", "topic": "analytics"}, set()),
    ],
)
def test_filters(session, site, people, filters, expected):
    assert {i.entry.slug for i in june(session, site, **filters).items} == expected


def test_a_contributor_sees_only_their_assignments_and_anonymous_nothing(session, site, people):
    ada = june(session, site, Viewer.of(people["ada"]))
    assert {i.entry.slug for i in ada.items} == {"cloud-plan"}
    assert [e.slug for e in ada.backlog] == ["idea-one"]
    assert ada.cadence is None
    assert {i.entry.slug for i in june(session, site, Viewer.of(people["bob"])).items} == {
        "analytics-sched"
    }
    nobody = june(session, site, Viewer.of(None))
    assert nobody.items == [] and nobody.backlog == [] and nobody.cadence is None
    editor = june(session, site, Viewer.of(people["eve"]))
    assert len(editor.items) == 3 and editor.cadence is not None


def test_backlog_holds_ideas_and_planned_pieces_with_neither_date(session, site, people):
    result = june(session, site)
    assert sorted(e.slug for e in result.backlog) == ["idea-one", "planned-undated"]
    assert june(session, site, status="draft").backlog == []
    assert [e.slug for e in june(session, site, topic="ai").backlog] == ["idea-one"]


def test_cadence_flags_quiet_weeks_and_quiet_topics(session, site, people):
    flags = june(session, site).cadence
    assert flags is not None
    assert [(w.start.isoformat(), w.publications) for w in flags.weeks] == [
        ("2026-06-01", 1),
        ("2026-06-08", 0),
        ("2026-06-15", 1),
        ("2026-06-22", 0),
    ]
    assert [w.start.isoformat() for w in flags.quiet_weeks] == ["2026-06-08", "2026-06-22"]
    quiet = {t.topic: t for t in flags.quiet_topics}
    # cloud came out on 20 May (within 4 weeks); security is not wanted (target 0)
    assert set(quiet) == {"analytics", "ai"}
    assert quiet["analytics"].last_published == date(2026, 3, 2)
    assert quiet["analytics"].next_planned == date(2026, 6, 3)
    assert quiet["ai"].last_published is None and quiet["ai"].next_planned is None
    shape = flags.as_json()
    assert shape["quiet_weeks"] == ["2026-06-08", "2026-06-22"]
    assert shape["horizon_weeks"] == 4 and shape["topic_cadence_weeks"] == 4


def test_cadence_follows_the_dimension_filters(session, site, people):
    flags = june(session, site, audience="finance").cadence
    assert flags is not None
    assert [w.start.isoformat() for w in flags.quiet_weeks] == [
        "2026-06-08",
        "2026-06-15",
        "2026-06-22",
    ]
    assert {t.topic for t in flags.quiet_topics} == {"cloud", "analytics", "ai"}
    only_cloud = june(session, site, topic="cloud").cadence
    assert only_cloud is not None and only_cloud.quiet_topics == []


def test_days_are_counted_in_the_site_time_zone(session, site, people):
    tokyo = Site(site.taxonomy, ZoneInfo("Asia/Tokyo"), site.host, site.link)
    result = calendar(session, tokyo, make_query(tokyo, *JUNE), EVERYONE)
    days = {(i.entry.slug, i.lane): (i.day.isoformat(), i.all_day) for i in result.items}
    # 15:30 UTC on 3 June is 00:30 on 4 June in Tokyo; UTC midnight is 09:00 there (timed)
    assert days[("analytics-sched", "publish")] == ("2026-06-04", False)
    assert days[("cloud-plan", "due")] == ("2026-06-05", False)


@pytest.mark.parametrize(
    ("start", "end", "filters", "message"),
    [
        (date(2026, 6, 2), date(2026, 6, 1), {}, "to: 2026-06-01 is before the start"),
        (date(2020, 1, 1), date(2026, 1, 1), {}, "to: the range is longer than"),
        (None, None, {"topic": "clod"}, "topic: unknown topic 'clod'; did you mean 'cloud'?"),
        (None, None, {"status": "live"}, "status: unknown status 'live'"),
    ],
)
def test_bad_requests_name_the_field(site, frozen_clock, start, end, filters, message):
    with pytest.raises(CalendarError) as caught:
        make_query(site, start, end, **filters)
    assert str(caught.value).startswith(message)


def test_the_default_range_runs_from_ninety_days_back_to_a_year_ahead(site, frozen_clock):
    query = make_query(site)
    assert (query.start, query.end) == (date(2026, 3, 3), date(2027, 6, 1))


def events(ics: bytes) -> list:
    return icalendar.Calendar.from_ical(ics).walk("VEVENT")


def test_ics_has_one_event_per_dated_item_with_the_same_uids_and_days(session, site, people):
    result = june(session, site)
    found = events(to_ics(result, "Team calendar", site.link))
    assert len(found) == len(result.items) == 3
    by_uid = {str(e["UID"]): e for e in found}
    for item in result.items:
        event = by_uid[item.uid]
        start = event["DTSTART"].dt
        if item.all_day:
            assert start == item.day and not isinstance(start, datetime)
            assert event["DTEND"].dt == date(2026, 6, 6)
        else:
            assert start == item.at
        assert event["DTSTAMP"].dt == at("2026-06-01T12:00")
        assert int(event["SEQUENCE"]) == item.entry.version
    assert str(by_uid["cloud-plan.due@127.0.0.1"]["SUMMARY"]) == "Due: Cloud plan [planned]"


def test_moving_a_date_keeps_its_time_of_day():
    paris = ZoneInfo("Europe/Paris")
    nine_in_paris = at("2026-06-16T07:00")
    assert moved_moment(nine_in_paris, date(2026, 12, 1), paris) == at("2026-12-01T08:00")
    assert moved_moment(None, date(2026, 12, 1), paris) == at("2026-11-30T23:00")


def test_reschedule_goes_through_the_workflow(session, site, people):
    piece = reschedule(
        session, people["eve"], site, "cloud-plan", "publish", date(2026, 6, 23), 1, "form"
    )
    session.commit()
    assert piece.publish_at is not None and piece.version == 2
    assert lanes(june(session, site))[-1] == ("cloud-plan", "publish", "2026-06-23")
    revision = session.exec(select(Revision).where(Revision.piece_id == piece.id)).one()
    assert (revision.actor, revision.origin, revision.number) == ("eve@example.com", "form", 2)
    with pytest.raises(workflow.Conflict):
        reschedule(session, people["eve"], site, "cloud-plan", "due", date(2026, 6, 9), 1, "api")
    with pytest.raises(workflow.Forbidden):
        reschedule(session, people["ada"], site, "cloud-plan", "due", date(2026, 6, 9), 2, "api")
    with pytest.raises(workflow.NotFound):
        reschedule(session, people["bob"], site, "cloud-plan", "due", date(2026, 6, 9), 2, "api")
    with pytest.raises(workflow.InvalidInput):
        reschedule(session, people["eve"], site, "cloud-plan", "later", date(2026, 6, 9), 2, "api")


def test_a_backlog_piece_given_a_date_leaves_the_backlog(session, site, people):
    reschedule(session, people["eve"], site, "planned-undated", "due", date(2026, 6, 10), 1, "api")
    session.commit()
    result = june(session, site)
    assert [e.slug for e in result.backlog] == ["idea-one"]
    assert ("planned-undated", "due", "2026-06-10") in lanes(result)
    item = next(i for i in result.items if i.entry.slug == "planned-undated")
    assert item.all_day


runner = CliRunner()


def test_cli_prints_json_table_and_ics_that_agree(session, site, people):
    window = ["calendar", "--from", "2026-06-01", "--to", "2026-06-30"]
    as_json = runner.invoke(cli, [*window, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert [(i["slug"], i["lane"], i["date"]) for i in data["items"]] == lanes(june(session, site))
    as_ics = runner.invoke(cli, [*window, "--format", "ics"])
    assert as_ics.exit_code == 0
    assert {str(e["UID"]) for e in events(as_ics.stdout_bytes)} == {i["uid"] for i in data["items"]}
    table = runner.invoke(cli, [*window, "--topic", "cloud"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "cloud-plan" in table.stdout and "analytics-sched" not in table.stdout
    assert "Nothing to publish in the week of 2026-06-08." in table.stdout


def test_cli_rejects_bad_input_with_the_field(site, people):
    bad_date = runner.invoke(cli, ["calendar", "--from", "June"])
    assert bad_date.exit_code == 1
    assert "--from: 'June' is not a date; write it as YYYY-MM-DD" in bad_date.output
    bad_term = runner.invoke(cli, ["calendar", "--audience", "cfo"])
    assert bad_term.exit_code == 1 and "unknown audience 'cfo'" in bad_term.output


def test_cli_names_a_taxonomy_it_cannot_read(settings, content_dir):
    (content_dir / "taxonomy.yaml").unlink()
    result = runner.invoke(cli, ["calendar"])
    assert result.exit_code == 1, result.output
    assert "taxonomy.yaml: cannot read the taxonomy file" in result.output


def test_missing_pieces_are_left_out(session, site, people):
    gone = session.exec(select(Piece).where(Piece.slug == "gone")).one()
    assert gone.publish_at is not None
    assert "gone" not in {i.entry.slug for i in june(session, site).items}
