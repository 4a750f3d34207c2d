"""The coverage model against a plain-Python recomputation; targets, states, slices, --as-of."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from editorial.cli import app
from editorial.clock import to_utc
from editorial.commission import CommissionRequest, commission
from editorial.coverage import (
    Cell,
    CellState,
    CoverageError,
    Window,
    cell_pieces,
    coverage,
    parse_as_of,
)
from editorial.gaps import HeatCell, gap_report, heatmap
from editorial.models import Piece, PieceTerm, Status
from editorial.refresh import review_queue
from editorial.settings import Settings
from editorial.taxonomy import Targets, Taxonomy, TaxonomyError, Term, parse_taxonomy
from tests.conftest import FROZEN

DAY = timedelta(days=1)
AXES = ("audience", "stage", "topic")
runner = CliRunner()
PIPELINE = {Status.PLANNED, Status.DRAFT, Status.REVIEW, Status.APPROVED}


@dataclass
class Spec:
    """A piece as the test builds it: fields plus terms."""

    slug: str
    status: str = Status.PUBLISHED
    publish_at: datetime | None = None
    expire_at: datetime | None = None
    due_at: datetime | None = None
    review_by: date | None = None
    created_at: datetime = FROZEN - 1000 * DAY
    missing: bool = False
    derived_from: str | None = None
    format: str | None = None
    terms: dict[str, list[str]] = field(default_factory=dict)


def store(session: Session, specs: list[Spec]) -> None:
    """Write the pieces and their terms."""
    for spec in specs:
        piece = Piece(
            slug=spec.slug,
            title=spec.slug.replace("-", " ").capitalize(),
            status=spec.status,
            publish_at=spec.publish_at,
            expire_at=spec.expire_at,
            due_at=spec.due_at,
            review_by=spec.review_by,
            created_at=spec.created_at,
            missing_since=spec.created_at if spec.missing else None,
            derived_from=spec.derived_from,
            format=spec.format,
        )
        session.add(piece)
        session.flush()
        assert piece.id is not None
        for dimension, terms in spec.terms.items():
            session.add_all(
                PieceTerm(piece_id=piece.id, dimension=dimension, term=t) for t in terms
            )
    session.commit()


def cell_terms(audience: str, stage: str, topic: str) -> dict[str, list[str]]:
    return {"audience": [audience], "stage": [stage], "topic": [topic]}


# -- the plain-Python model ---------------------------------------------------------------------


def py_published(p: Spec, at: datetime) -> bool:
    out = p.publish_at or p.created_at
    public = (p.status == Status.PUBLISHED and (p.publish_at is None or p.publish_at <= at)) or (
        p.status == Status.SCHEDULED and p.publish_at is not None and p.publish_at <= at
    )
    alive = p.expire_at is None or p.expire_at > at
    return public and alive and not p.missing and out <= at


def py_fresh(p: Spec, at: datetime, fresh_days: int) -> bool:
    out = p.publish_at or p.created_at
    reviewed = p.review_by is None or p.review_by >= at.date()
    return py_published(p, at) and out >= at - fresh_days * DAY and reviewed


def py_planned(p: Spec, at: datetime, horizon_weeks: int) -> bool:
    end = at + timedelta(weeks=horizon_weeks)
    dated_later = p.publish_at is not None and p.publish_at > at
    coming = (
        p.status in PIPELINE
        or (p.status == Status.SCHEDULED and (p.publish_at is None or dated_later))
        or (p.status == Status.PUBLISHED and dated_later)
    )
    dated = any(moment is not None and moment <= end for moment in (p.due_at, p.publish_at))
    return coming and p.created_at <= at and dated


def py_target(targets: Targets, cell: tuple[str, str, str]) -> int:
    found = []
    for dimension, term in zip(("audience", "stage", "topic"), cell, strict=True):
        if term in targets.overrides.get(dimension, {}):
            found.append(targets.overrides[dimension][term])
    if 0 in found:
        return 0
    return max(found) if found else targets.per_cell


def py_cells(taxonomy: Taxonomy, specs: list[Spec], at: datetime) -> list[tuple]:
    """Every cell as (audience, stage, topic, published, fresh, planned, target, gap, priority)."""
    t = taxonomy.targets
    rows = []
    for a in taxonomy.terms("audience"):
        for s in taxonomy.terms("stage"):
            for c in taxonomy.terms("topic"):
                inside = [
                    p
                    for p in specs
                    if a.slug in p.terms.get("audience", [])
                    and s.slug in p.terms.get("stage", [])
                    and c.slug in p.terms.get("topic", [])
                ]
                published = sum(py_published(p, at) for p in inside)
                fresh = sum(py_fresh(p, at, t.fresh_days) for p in inside)
                planned = sum(py_planned(p, at, t.horizon_weeks) for p in inside)
                target = py_target(t, (a.slug, s.slug, c.slug))
                gap = max(0, target - fresh - planned)
                priority = gap * a.weight * s.weight * c.weight
                rows.append(
                    (a.slug, s.slug, c.slug, published, fresh, planned, target, gap, priority)
                )
    return rows


def py_queue(taxonomy: Taxonomy, specs: list[Spec], at: datetime) -> list[tuple]:
    """The review queue as (slug, reasons, weight), heaviest first."""
    found = []
    for index, p in enumerate(specs):
        out = p.publish_at or p.created_at
        reasons = ("stale",) * (out < at - taxonomy.targets.fresh_days * DAY) + ("review due",) * (
            p.review_by is not None and p.review_by < at.date()
        )
        if not py_published(p, at) or not reasons:
            continue
        weight = sum(
            a.weight * s.weight * t.weight
            for a in taxonomy.terms("audience")
            for s in taxonomy.terms("stage")
            for t in taxonomy.terms("topic")
            if a.slug in p.terms["audience"]
            and s.slug in p.terms["stage"]
            and t.slug in p.terms["topic"]
            and py_target(taxonomy.targets, (a.slug, s.slug, t.slug)) > 0
        )
        found.append((-weight, out, index, p.slug, reasons))  # ties: the earlier stored first
    return [(slug, reasons, -weight) for weight, _, _, slug, reasons in sorted(found)]


def as_rows(cells: list[Any]) -> list[tuple]:
    return [
        (c.audience, c.stage, c.topic, c.published, c.fresh, c.planned, c.target, c.gap, c.priority)
        for c in cells
    ]


# -- strategies ---------------------------------------------------------------------------------

WEIGHTS = st.sampled_from([0.0, 1.0, 2.0, 3.0])


@st.composite
def taxonomies(draw: st.DrawFn) -> Taxonomy:
    dimensions: dict[str, tuple[Term, ...]] = {}
    overrides: dict[str, dict[str, int]] = {}
    for dimension in ("audience", "stage", "topic"):
        count = draw(st.integers(1, 3))
        terms = tuple(
            Term(f"{dimension[0]}{i}", f"{dimension} {i}", "", draw(WEIGHTS)) for i in range(count)
        )
        dimensions[dimension] = terms
        chosen = draw(st.lists(st.sampled_from([t.slug for t in terms]), unique=True))
        if chosen:
            overrides[dimension] = {slug: draw(st.integers(0, 3)) for slug in chosen}
    targets = Targets(
        per_cell=draw(st.sampled_from([0, 0, 1, 2])),
        fresh_days=draw(st.sampled_from([7, 30, 365])),
        horizon_weeks=draw(st.integers(1, 8)),
        overrides=overrides,
    )
    return Taxonomy(dimensions, targets)


@dataclass
class Scenario:
    """A taxonomy, a report moment and a corpus dated around that moment's boundaries."""

    taxonomy: Taxonomy
    back: int  # days before the frozen clock; 0 means "now"
    specs: list[Spec]

    @property
    def as_of(self) -> datetime:
        return FROZEN - self.back * DAY


HOUR = timedelta(hours=1)
# every status, with the two that readers can see twice as likely
STATUSES = st.sampled_from([*Status, Status.PUBLISHED, Status.SCHEDULED])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Dates land on, just before and just after every boundary the report has (the moment,
    fresh_days before it, the horizon's end) often enough for off-by-one errors to show."""
    taxonomy = draw(taxonomies())
    back = draw(st.sampled_from([0, 0, 1, 7, 30]))
    at = FROZEN - back * DAY
    targets = taxonomy.targets
    anchors = [at, at - targets.fresh_days * DAY, at + timedelta(weeks=targets.horizon_weeks)]
    near = st.tuples(st.sampled_from(anchors), st.sampled_from([0, 0, -1, 1]))
    moments = st.one_of(
        st.none(),
        near.map(lambda a: a[0] + a[1] * HOUR),
        st.integers(-400, 120).map(lambda days: FROZEN + days * DAY),
    )
    days = st.sampled_from([at.date() - DAY, at.date(), at.date() + DAY])
    created = st.sampled_from([at - 400 * DAY, at - DAY, at, at + HOUR])
    specs = [
        Spec(
            slug=f"p{n}",
            status=draw(STATUSES),
            publish_at=draw(moments),
            expire_at=draw(st.none() | moments),
            due_at=draw(moments),
            review_by=draw(st.none() | days),
            created_at=draw(created),
            missing=draw(st.integers(0, 9)) == 0,
            terms={d: draw(tags(d[0])) for d in ("audience", "stage", "topic")},
        )
        for n in range(draw(st.integers(0, 12)))
    ]
    return Scenario(taxonomy, back, specs)


def tags(prefix: str) -> st.SearchStrategy[list[str]]:
    # term 3 is never declared: such tags must be ignored
    terms = st.sampled_from([f"{prefix}{i}" for i in (0, 0, 1, 2, 3)])
    return st.lists(terms, min_size=1, max_size=2, unique=True)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios(), data=st.data())
def test_sql_report_matches_a_python_recomputation(
    engine: Engine, frozen_clock: datetime, scenario: Scenario, data: st.DataObject
) -> None:
    taxonomy, as_of = scenario.taxonomy, scenario.as_of
    with Session(engine) as session:
        session.exec(delete(PieceTerm))  # type: ignore[call-overload]
        session.exec(delete(Piece))  # type: ignore[call-overload]
        store(session, scenario.specs)
        cells = coverage(session, taxonomy, as_of=as_of if scenario.back else None)
        expected = py_cells(taxonomy, scenario.specs, as_of)
        assert as_rows(cells) == expected
        topic = data.draw(st.sampled_from([t.slug for t in taxonomy.terms("topic")]))
        sliced = coverage(session, taxonomy, topic=topic, as_of=as_of)
        assert as_rows(sliced) == [row for row in expected if row[2] == topic]
        report = gap_report(session, taxonomy, as_of=as_of, limit=5)
        queue = review_queue(session, taxonomy, as_of=as_of, limit=100)
    assert [(i.slug, i.reasons, i.weight) for i in queue] == py_queue(
        taxonomy, scenario.specs, as_of
    )
    ranked = sorted((row for row in expected if row[7] > 0), key=lambda row: -row[8])[:5]
    assert [(r.audience, r.stage, r.topic, r.priority) for r in report.recommendations] == [
        (row[0], row[1], row[2], row[8]) for row in ranked
    ]


# -- targets and states -------------------------------------------------------------------------

TAXONOMY = parse_taxonomy(
    b"""
audience:
  - slug: cio
    weight: 3
  - finance
  - purchasing
stage:
  - awareness
  - slug: purchase
    weight: 2
topic:
  - cloud
  - events
targets:
  per_cell: 1
  fresh_days: 100
  horizon_weeks: 4
  pieces_per_week: 1
  audience:
    finance: 2
  topic:
    events: 0
""",
    "test taxonomy",
)


def test_overrides_are_read_and_a_zero_wins() -> None:
    targets = TAXONOMY.targets
    assert targets.overrides == {"audience": {"finance": 2}, "topic": {"events": 0}}
    assert targets.target("cio", "awareness", "cloud") == 1
    assert targets.target("finance", "awareness", "cloud") == 2
    assert targets.target("finance", "awareness", "events") == 0
    assert (targets.horizon_weeks, targets.pieces_per_week) == (4, 1)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            "  audience:\n    cfo: 1\n",
            "line 3: targets: unknown audience 'cfo'; did you mean 'cio'?",
        ),
        (
            "  topic:\n    cloud: -1\n",
            "line 3: target for topic 'cloud' must be a whole number >= 0",
        ),
        ("  horizon_weeks: 0\n", "line 2: target 'horizon_weeks' must be a whole number >= 1"),
        ("  stage: 2\n", "line 2: 'targets: stage' must be a mapping of keys to values"),
    ],
)
def test_bad_overrides_name_the_line_and_the_fix(targets: str, message: str) -> None:
    text = "targets:\n" + targets + "audience:\n  - cio\nstage:\n  - awareness\ntopic:\n  - cloud\n"
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(text.encode(), "t.yaml")
    assert str(caught.value).startswith(f"t.yaml, {message}")


def find(cells: list[Any], audience: str, stage: str, topic: str) -> Any:
    return next(c for c in cells if (c.audience, c.stage, c.topic) == (audience, stage, topic))


def test_not_wanted_cells_are_shown_as_such_and_never_a_gap(
    session: Session, frozen_clock: datetime
) -> None:
    store(
        session,
        [
            Spec(
                "old-event",
                publish_at=frozen_clock - 400 * DAY,
                terms=cell_terms("cio", "purchase", "events"),
            )
        ],
    )
    cells = coverage(session, TAXONOMY)
    assert len(cells) == 3 * 2 * 2
    event = find(cells, "cio", "purchase", "events")
    assert (event.published, event.target, event.gap, event.priority) == (1, 0, 0, 0)
    assert event.state == CellState.NOT_WANTED
    report = gap_report(session, TAXONOMY, limit=100)
    assert all(r.topic != "events" for r in report.recommendations)
    assert {c.state for c in cells if c.topic == "events"} == {CellState.NOT_WANTED}


def test_each_state(session: Session, frozen_clock: datetime) -> None:
    now = frozen_clock
    store(
        session,
        [
            Spec("fresh", publish_at=now - 10 * DAY, terms=cell_terms("cio", "awareness", "cloud")),
            Spec(
                "thin", publish_at=now - 10 * DAY, terms=cell_terms("finance", "awareness", "cloud")
            ),
            Spec("old", publish_at=now - 200 * DAY, terms=cell_terms("cio", "purchase", "cloud")),
            Spec(
                "coming",
                status=Status.DRAFT,
                due_at=now + 7 * DAY,
                terms=cell_terms("purchasing", "awareness", "cloud"),
            ),
        ],
    )
    states = {(c.audience, c.stage): c.state for c in coverage(session, TAXONOMY, topic="cloud")}
    assert states == {
        ("cio", "awareness"): CellState.COVERED,
        ("finance", "awareness"): CellState.THIN,
        ("cio", "purchase"): CellState.STALE,
        ("purchasing", "awareness"): CellState.PLANNED,
        ("finance", "purchase"): CellState.GAP,
        ("purchasing", "purchase"): CellState.GAP,
    }


def test_a_square_summed_over_topics_is_covered_only_when_each_topic_is() -> None:
    def square(*counts: tuple[str, int, int, int]) -> HeatCell:
        cells = [
            Cell("cio", "awareness", t, fresh, fresh, 0, target, 1.0) for t, fresh, target in counts
        ]
        return heatmap(cells)[("cio", "awareness")]

    surplus = square(("cloud", 2, 1), ("analytics", 0, 1))  # two on cloud, none on analytics
    assert (surplus.fresh, surplus.target, surplus.gap, surplus.gaps) == (2, 2, 1, 1)
    assert surplus.state == CellState.THIN
    unwanted = square(("events", 3, 0), ("cloud", 0, 1))  # pieces only where none are wanted
    assert unwanted.state == CellState.GAP
    assert square(("cloud", 2, 1), ("analytics", 1, 1)).state == CellState.COVERED
    assert square(("events", 1, 0)).state == CellState.NOT_WANTED


def test_a_published_piece_dated_next_week_is_planned_coverage(
    session: Session, frozen_clock: datetime
) -> None:
    # a file with a future `date` and the default status: readers see it only next week
    store(
        session,
        [
            Spec(
                "next-week",
                publish_at=frozen_clock + 7 * DAY,
                terms=cell_terms("cio", "awareness", "cloud"),
            )
        ],
    )
    cio = find(coverage(session, TAXONOMY), "cio", "awareness", "cloud")
    assert (cio.published, cio.fresh, cio.planned, cio.gap) == (0, 0, 1, 0)
    assert cio.state == CellState.PLANNED
    report = gap_report(session, TAXONOMY, topic="cloud", limit=100)
    assert ("cio", "awareness") not in {(r.audience, r.stage) for r in report.recommendations}
    window = Window.of(TAXONOMY)
    [listed] = cell_pieces(session, window, "cio", "awareness", "cloud")
    assert (listed.slug, listed.counts_as) == ("next-week", "planned")


def test_topic_slice_by_label_and_unknown_topic_names_the_closest(session: Session) -> None:
    assert {c.topic for c in coverage(session, TAXONOMY, topic="Cloud")} == {"cloud"}
    with pytest.raises(CoverageError) as caught:
        coverage(session, TAXONOMY, topic="clod")
    assert str(caught.value) == (
        "unknown topic 'clod'; did you mean 'cloud'? (the topics are declared in taxonomy.yaml)"
    )


def test_as_of_shows_coverage_as_it_was(session: Session, frozen_clock: datetime) -> None:
    cell = cell_terms("cio", "awareness", "cloud")
    store(session, [Spec("spring", publish_at=to_utc(datetime(2026, 3, 1, 9)), terms=cell)])

    def counts(as_of: str | None) -> tuple[int, int, int, int]:
        moment = parse_as_of(as_of) if as_of else None
        c = find(coverage(session, TAXONOMY, as_of=moment), "cio", "awareness", "cloud")
        return c.published, c.fresh, c.planned, c.gap

    assert counts("2026-02-28") == (0, 0, 1, 0)  # stored, and dated the next day: on its way
    assert counts("2026-03-01") == (1, 1, 0, 0)  # a bare date means the end of that day
    assert counts("2026-03-01T08:00:00") == (0, 0, 1, 0)
    assert counts(None) == (1, 1, 0, 0)  # 92 days old on the frozen clock: fresh for 100 days
    assert counts("2026-06-15") == (1, 0, 0, 1)  # 106 days old then


def test_a_bad_as_of_says_how_to_write_it() -> None:
    with pytest.raises(
        CoverageError, match=r"bad --as-of date '2026-13-01'; write it as YYYY-MM-DD"
    ):
        parse_as_of("2026-13-01")


def test_recommendations_fill_weeks_below_the_cadence(
    session: Session, frozen_clock: datetime
) -> None:
    # the frozen clock is Monday 1 June 2026; the horizon's weeks start on 8, 15, 22 and 29 June
    booked = Spec(
        "booked",
        status=Status.PLANNED,
        publish_at=to_utc(datetime(2026, 6, 9, 9)),
        terms=cell_terms("cio", "awareness", "cloud"),
    )
    store(session, [booked])
    report = gap_report(session, TAXONOMY, limit=5)
    assert [(r.audience, r.stage, r.gap, r.priority, r.week) for r in report.recommendations] == [
        ("cio", "purchase", 1, 6.0, date(2026, 6, 15)),
        ("finance", "purchase", 2, 4.0, date(2026, 6, 22)),
        ("finance", "awareness", 2, 2.0, date(2026, 6, 29)),
        ("purchasing", "purchase", 1, 2.0, None),  # one piece a week: no room left
        ("purchasing", "awareness", 1, 1.0, None),
    ]


# weights whose products and sums are not exact in binary: 0.1 x 3 and 0.1 + 0.2 against 0.3
DECIMAL_WEIGHTS = parse_taxonomy(
    b"""
audience:
  - slug: cio
    weight: 0.3
  - slug: finance
    weight: 0.1
  - slug: sales
    weight: 0.2
stage:
  - awareness
  - slug: purchase
    weight: 3
topic:
  - cloud
""",
    "decimal weights",
)


def test_equal_priorities_of_decimal_weights_keep_the_declared_order(session: Session) -> None:
    report = gap_report(session, DECIMAL_WEIGHTS)
    ranked = [(r.audience, r.stage, r.priority) for r in report.recommendations]
    assert ranked == [
        ("cio", "purchase", 0.9),
        ("sales", "purchase", 0.6),
        ("cio", "awareness", 0.3),  # 0.3, declared before finance x purchase's 0.1 x 3
        ("finance", "purchase", 0.3),
        ("sales", "awareness", 0.2),
        ("finance", "awareness", 0.1),
    ]
    assert "0.30000000000000004" not in report.to_csv()


def test_equal_review_weights_of_decimal_weights_put_the_oldest_first(
    session: Session, frozen_clock: datetime
) -> None:
    def stale(slug: str, audiences: list[str], days: int) -> Spec:
        terms = {"audience": audiences, "stage": ["awareness"], "topic": ["cloud"]}
        return Spec(slug, publish_at=frozen_clock - days * DAY, terms=terms)

    store(session, [stale("older", ["cio"], 800), stale("newer", ["finance", "sales"], 500)])
    queue = review_queue(session, DECIMAL_WEIGHTS)
    assert [(item.slug, item.weight) for item in queue] == [("older", 0.3), ("newer", 0.3)]


def test_the_longest_spans_a_taxonomy_may_give_still_make_a_report(session: Session) -> None:
    longest = b"  fresh_days: 36500\n  horizon_weeks: 520\n  topic_cadence_weeks: 520\n"
    taxonomy = parse_taxonomy(b"audience: [cio]\nstage: [a]\ntopic: [c]\ntargets:\n" + longest, "t")
    report = gap_report(session, taxonomy, limit=1)
    assert [(c.gap, c.state) for c in report.cells] == [(1, CellState.GAP)]
    assert report.recommendations[0].week is not None


def test_weeks_start_on_monday_in_the_sites_time_zone(
    session: Session, frozen_clock: datetime
) -> None:
    # Monday 15 June, 8 a.m. in Auckland, is still Sunday 14 June in UTC
    auckland = ZoneInfo("Pacific/Auckland")
    early = to_utc(datetime(2026, 6, 15, 8, tzinfo=auckland))
    cell = cell_terms("cio", "awareness", "cloud")
    store(session, [Spec("early", Status.PLANNED, publish_at=early, terms=cell)])
    in_utc = gap_report(session, TAXONOMY, limit=1).recommendations[0].week
    local = gap_report(session, TAXONOMY, limit=1, tz=auckland).recommendations[0].week
    # in Auckland, as the calendar counts it, the week of 8 June is the free one
    assert (in_utc, local) == (date(2026, 6, 15), date(2026, 6, 8))
    request = CommissionRequest("finance", "purchase", "cloud")
    piece = commission(session, TAXONOMY, request, actor="eve@example.com", tz=auckland)
    assert piece.publish_at is not None
    assert to_utc(piece.publish_at) == datetime(2026, 6, 8, 9, tzinfo=auckland)


def test_commissioned_pieces_go_to_the_next_week_with_room(
    session: Session, frozen_clock: datetime
) -> None:
    request = CommissionRequest("finance", "purchase", "cloud")
    first = commission(session, TAXONOMY, request, actor="eve@example.com")
    second = commission(session, TAXONOMY, request, actor="eve@example.com")
    assert [to_utc(p.publish_at).date() for p in (first, second)] == [  # type: ignore[arg-type]
        date(2026, 6, 8),
        date(2026, 6, 15),
    ]
    assert (first.slug, second.slug) == (
        "cloud-for-finance-purchase",
        "cloud-for-finance-purchase-2",
    )
    assert to_utc(first.due_at) == frozen_clock  # type: ignore[arg-type]  # a week before, not in the past
    finance = find(coverage(session, TAXONOMY), "finance", "purchase", "cloud")
    assert (finance.planned, finance.gap, finance.state) == (2, 0, CellState.PLANNED)


def test_review_queue_reasons_weights_and_extra_flags(
    session: Session, frozen_clock: datetime
) -> None:
    now = frozen_clock
    store(
        session,
        [
            Spec(
                "old-cio", publish_at=now - 200 * DAY, terms=cell_terms("cio", "purchase", "cloud")
            ),
            Spec(
                "old-fin",
                publish_at=now - 300 * DAY,
                terms=cell_terms("finance", "purchase", "cloud"),
            ),
            Spec(
                "old-event",
                publish_at=now - 300 * DAY,
                terms=cell_terms("cio", "purchase", "events"),
            ),
            Spec(
                "due",
                publish_at=now - 10 * DAY,
                review_by=(now - DAY).date(),
                terms=cell_terms("finance", "awareness", "cloud"),
            ),
            Spec("fine", publish_at=now - 10 * DAY, terms=cell_terms("cio", "awareness", "cloud")),
            Spec("draft", status=Status.DRAFT, terms=cell_terms("cio", "awareness", "cloud")),
        ],
    )
    queue = review_queue(session, TAXONOMY)
    assert [(i.slug, i.reasons, i.weight) for i in queue] == [
        ("old-cio", ("stale",), 6.0),
        ("old-fin", ("stale",), 2.0),
        ("due", ("review due",), 1.0),
        ("old-event", ("stale",), 0.0),  # its only cell is not wanted
    ]
    low_rated = select(Piece.id).where(col(Piece.slug).in_(["fine", "old-fin", "draft"]))
    flagged = review_queue(session, TAXONOMY, flags={"low-rated": low_rated}, limit=3)
    assert [(i.slug, i.reasons) for i in flagged] == [
        ("old-cio", ("stale",)),
        ("fine", ("low-rated",)),  # the draft is not published: never in the queue
        ("old-fin", ("stale", "low-rated")),
    ]


def test_gaps_command(settings: Settings, engine: Engine, frozen_clock: datetime) -> None:
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    as_json = runner.invoke(app, ["gaps", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert len(body["cells"]) == 18 and body["recommendations"]
    as_csv = runner.invoke(app, ["gaps", "--format", "csv", "--topic", "cloud"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    cloud = [c for c in body["cells"] if c["topic"] == "cloud"]
    assert rows == [{k: str(v) for k, v in c.items()} for c in cloud]
    table = runner.invoke(app, ["gaps", "--as-of", "2025-03-15", "--topic", "cloud"])
    assert table.exit_code == 0
    assert "What to commission next (as of 2025-03-15)" in table.stdout
    assert "1+0/1 covered" in table.stdout  # cloud-basics, two weeks old then
    wrong = runner.invoke(app, ["gaps", "--topic", "clod"])
    assert wrong.exit_code == 1
    assert "unknown topic 'clod'; did you mean 'cloud'?" in wrong.output
    counted = [runner.invoke(app, ["gaps", "--format", "json", "--limit", n]) for n in "01"]
    assert [len(json.loads(r.stdout)["recommendations"]) for r in counted] == [0, 1]
    negative = runner.invoke(app, ["gaps", "--limit", "-1"])  # was: every gap but the last
    assert negative.exit_code == 2 and "greater than or equal to 0" in negative.output


def test_with_no_default_target_only_cells_with_a_positive_target_weigh(
    session: Session, frozen_clock: datetime
) -> None:
    terms = {d: (Term(f"{d[0]}0", "x", "", 1.0), Term(f"{d[0]}1", "y", "", 2.0)) for d in AXES}
    taxonomy = Taxonomy(terms, Targets(per_cell=0, fresh_days=7, overrides={"audience": {"a0": 2}}))
    cells = {"audience": ["a0", "a1"], "stage": ["s0", "s1"], "topic": ["t1"]}
    store(session, [Spec("old", publish_at=frozen_clock - 30 * DAY, terms=cells)])
    # a0's cells are wanted (target 2), a1's are not (no target applies, per_cell 0)
    assert [(i.slug, i.weight) for i in review_queue(session, taxonomy)] == [("old", 6.0)]
    targets = {(c.audience, c.target) for c in coverage(session, taxonomy)}
    assert targets == {("a0", 2), ("a1", 0)}


def test_cheap_fills_pick_the_newest_unused_core_without_a_variant(
    session: Session, frozen_clock: datetime
) -> None:
    both_stages = {"audience": ["cio"], "stage": ["awareness", "purchase"], "topic": ["cloud"]}
    newer = Spec("newer-core", publish_at=FROZEN - 10 * DAY, terms=both_stages)
    older = Spec(
        "older-core", publish_at=FROZEN - 20 * DAY, terms=cell_terms("cio", "awareness", "cloud")
    )
    aimed = Spec(
        "newer-core-for-purchasing",
        status=Status.PLANNED,
        derived_from="newer-core",
        terms=cell_terms("purchasing", "purchase", "cloud"),
    )
    store(session, [newer, older, aimed])
    report = gap_report(session, TAXONOMY, limit=100)
    fills = {(r.audience, r.stage): r.derived_from for r in report.recommendations}
    # finance's purchase gap ranks first and takes the newer core; its awareness gap then gets
    # the older one rather than the same core twice
    assert fills[("finance", "purchase")] == "newer-core"
    assert fills[("finance", "awareness")] == "older-core"
    # purchasing has a variant of the newer core on the way: only the older core is left
    assert fills[("purchasing", "awareness")] == "older-core"
    assert fills[("purchasing", "purchase")] is None
    assert ("cio", "awareness") not in fills or fills[("cio", "awareness")] is None
