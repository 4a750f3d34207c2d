"""The workflow domain: permission matrix, revisions, optimistic concurrency, planning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from editorial import clock, workflow
from editorial.auth import create_user
from editorial.models import Piece, ReviewNote, Revision, Status, User
from editorial.pieces import get_piece, terms_of
from editorial.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture
def taxonomy(content_dir: Path) -> Taxonomy:
    return load_taxonomy(content_dir / "taxonomy.yaml")


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    found = {
        "editor": create_user(session, "Eve Editor", "eve@example.com", "editor", None),
        "ada": create_user(session, "Ada Expert", "ada@example.com", "contributor", None),
        "bob": create_user(session, "Bob Expert", "bob@example.com", "contributor", None),
    }
    session.commit()
    return found


def plan(session: Session, people: dict[str, User], taxonomy: Taxonomy, **fields) -> Piece:
    values = {
        "title": "Cloud costs for CFOs",
        "audience": "finance",
        "stage": "awareness",
        "topic": "cloud",
        "format": "blog-post",
        "assignee": "ada@example.com",
        "due_at": "2026-06-10",
        "publish_at": "2026-06-20T09:00",
        "brief": "Explain where cloud money goes.",
    } | fields
    piece = workflow.plan_piece(session, people["editor"], values, "api", taxonomy=taxonomy)
    session.commit()
    return piece


def test_planning_stores_every_field_and_a_first_revision(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    assert (piece.slug, piece.status, piece.version) == ("cloud-costs-for-cfos", "planned", 1)
    assert piece.due_at is not None and piece.publish_at is not None
    assert piece.front_matter["brief"] == "Explain where cloud money goes."
    assert piece.format == "blog-post"
    assert terms_of(session, [piece.id])[piece.id] == {
        "audience": ["finance"],
        "format": ["blog-post"],
        "stage": ["awareness"],
        "topic": ["cloud"],
    }
    revisions = session.exec(select(Revision).where(Revision.piece_id == piece.id)).all()
    assert [(r.number, r.actor, r.origin) for r in revisions] == [(1, "eve@example.com", "api")]
    assert revisions[0].front_matter["assignee"] == "ada@example.com"
    assert plan(session, people, taxonomy).slug == "cloud-costs-for-cfos-2"


def test_planning_errors_name_each_field(session, people, taxonomy) -> None:
    with pytest.raises(workflow.InvalidInput) as caught:
        plan(session, people, taxonomy, title=" ", audience="cfo", due_at="soon", assignee="x@y")
    assert set(caught.value.errors) == {"title", "audience", "due_at", "assignee"}
    assert "did you mean" in caught.value.errors["audience"]


def test_only_editors_plan(session, people, taxonomy) -> None:
    with pytest.raises(workflow.Forbidden):
        workflow.plan_piece(session, people["ada"], {"title": "Mine"}, "api", taxonomy=taxonomy)


def test_update_piece_reschedules_and_records_a_revision(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    changed = workflow.update_piece(
        session, people["editor"], piece.slug, {"publish_at": "2026-07-01"}, 1, "form"
    )
    assert changed.version == 2
    assert changed.publish_at == datetime(2026, 7, 1, tzinfo=UTC)
    last = session.exec(select(Revision).where(Revision.number == 2)).one()
    assert (last.origin, last.front_matter["date"]) == ("form", "2026-07-01T00:00:00+00:00")


def test_a_stale_version_is_a_conflict_carrying_the_current_piece(
    session, people, taxonomy
) -> None:
    piece = plan(session, people, taxonomy)
    workflow.update_piece(session, people["editor"], piece.slug, {"title": "New"}, 1, "api")
    with pytest.raises(workflow.Conflict) as caught:
        workflow.update_piece(session, people["editor"], piece.slug, {"title": "Old"}, 1, "api")
    assert (caught.value.current.title, caught.value.current.version) == ("New", 2)


def test_two_writers_of_one_version_cannot_both_win(session, engine, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    with Session(engine) as first, Session(engine) as second:
        editor_1, editor_2 = (
            first.get(User, people["editor"].id),
            second.get(User, people["editor"].id),
        )
        workflow.load(first, editor_1, piece.slug)
        late = workflow.load(second, editor_2, piece.slug)  # both read version 1
        workflow.update_piece(first, editor_1, piece.slug, {"title": "First"}, 1, "api")
        first.commit()
        with pytest.raises(workflow.Conflict) as refused:
            late.title = "Second"
            workflow.record(second, late, "eve@example.com", "api")
        assert (refused.value.current.title, refused.value.current.version) == ("First", 2)
    session.expire_all()
    assert session.get(Piece, piece.id).title == "First"
    assert len(session.exec(select(Revision).where(Revision.piece_id == piece.id)).all()) == 2


def test_update_piece_refuses_unknown_fields_and_contributors(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    with pytest.raises(workflow.InvalidInput) as caught:
        workflow.update_piece(session, people["editor"], piece.slug, {"status": "x"}, 1, "api")
    assert caught.value.errors == {"status": "not a planning field"}
    with pytest.raises(workflow.Forbidden):
        workflow.update_piece(session, people["ada"], piece.slug, {"title": "T"}, 1, "api")
    with pytest.raises(workflow.NotFound):
        workflow.update_piece(session, people["bob"], piece.slug, {"title": "T"}, 1, "api")
    with pytest.raises(workflow.NotFound):
        workflow.update_piece(session, None, piece.slug, {"title": "T"}, 1, "api")


def test_refused_transitions_carry_the_allowed_ones(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    with pytest.raises(workflow.TransitionRefused) as caught:
        workflow.transition(session, people["ada"], piece.slug, "approved", 1, "api")
    assert caught.value.allowed == ["draft"]
    with pytest.raises(workflow.TransitionRefused) as caught:
        workflow.transition(session, people["editor"], piece.slug, "published", 1, "api")
    assert caught.value.allowed == ["draft", "archived"]


def test_request_changes_needs_a_note_and_leaves_one(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy)
    editor, ada = people["editor"], people["ada"]
    workflow.transition(session, ada, piece.slug, "draft", 1, "api")
    workflow.transition(session, ada, piece.slug, "review", 2, "api")
    with pytest.raises(workflow.InvalidInput) as caught:
        workflow.transition(session, editor, piece.slug, "draft", 3, "api")
    assert set(caught.value.errors) == {"note"}
    workflow.transition(session, editor, piece.slug, "draft", 3, "api", "Add numbers.")
    notes = session.exec(select(ReviewNote).order_by(ReviewNote.id)).all()
    assert [(n.kind, n.body) for n in notes] == [("submitted", ""), ("changes", "Add numbers.")]


def test_scheduled_piece_becomes_public_when_its_time_passes(
    session, people, taxonomy, frozen_clock
) -> None:
    piece = plan(session, people, taxonomy)
    editor = people["editor"]
    for version, status in enumerate(["draft", "review", "approved"], start=1):
        workflow.transition(session, editor, piece.slug, status, version, "api")
    workflow.transition(
        session, editor, piece.slug, "scheduled", 4, "api", publish_at="2026-06-20T09:00"
    )
    session.commit()
    before = datetime(2026, 6, 20, 8, 59, tzinfo=UTC)
    after = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)
    assert get_piece(session, piece.slug, at=before) is None
    assert get_piece(session, piece.slug, at=after) is not None
    assert piece.status == Status.SCHEDULED


def test_publishing_a_piece_scheduled_for_later_publishes_it_now(
    session, people, taxonomy, frozen_clock
) -> None:
    """The move to published kept the later date, so the piece read "published" and stayed
    hidden until then."""
    piece = plan(session, people, taxonomy)
    editor = people["editor"]
    for version, status in enumerate(["draft", "review", "approved"], start=1):
        workflow.transition(session, editor, piece.slug, status, version, "api")
    later = "2030-01-01T09:00"
    workflow.transition(session, editor, piece.slug, "scheduled", 4, "api", publish_at=later)
    workflow.transition(session, editor, piece.slug, "published", 5, "api")
    session.commit()
    assert get_piece(session, piece.slug, at=frozen_clock) is not None
    assert clock.to_utc(piece.publish_at) == frozen_clock


def test_a_moment_that_has_passed_cannot_be_scheduled(
    session, people, taxonomy, frozen_clock, monkeypatch
) -> None:
    """Scheduling a late plan kept its passed date and so published the piece at once, while
    the workspace still read 'scheduled'."""
    piece = plan(session, people, taxonomy)  # to go out 2026-06-20 09:00
    editor = people["editor"]
    for version, status in enumerate(["draft", "review", "approved"], start=1):
        workflow.transition(session, editor, piece.slug, status, version, "api")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 21, tzinfo=UTC))
    with pytest.raises(workflow.InvalidInput) as caught:
        workflow.transition(session, editor, piece.slug, "scheduled", 4, "api")
    passed = "2026-06-20 09:00 UTC has passed; choose a later moment, or publish the piece now"
    assert caught.value.errors == {"publish_at": passed}
    later = "2026-06-22T09:00"
    workflow.transition(session, editor, piece.slug, "scheduled", 4, "api", publish_at=later)
    with pytest.raises(workflow.InvalidInput) as caught:  # nor moved back into the past
        workflow.update_piece(session, editor, piece.slug, {"publish_at": "2026-06-20"}, 5, "api")
    assert caught.value.errors == {"publish_at": passed.replace("09:00", "00:00")}
    # Once its moment has passed, the piece is out; other planning changes still go through,
    # with the date the form showed.
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 6, 23, tzinfo=UTC))
    changes = {"brief": "Where cloud money goes, and why.", "publish_at": later}
    workflow.update_piece(session, editor, piece.slug, changes, 5, "api", taxonomy=taxonomy)
    assert piece.version == 6


def test_scheduling_needs_a_publish_date(session, people, taxonomy) -> None:
    piece = plan(session, people, taxonomy, publish_at=None)
    editor = people["editor"]
    for version, status in enumerate(["draft", "review", "approved"], start=1):
        workflow.transition(session, editor, piece.slug, status, version, "api")
    with pytest.raises(workflow.InvalidInput) as caught:
        workflow.transition(session, editor, piece.slug, "scheduled", 4, "api")
    assert set(caught.value.errors) == {"publish_at"}


def test_what_readers_see_changing_dates_the_piece_and_planning_alone_does_not(
    session, people, taxonomy, monkeypatch
) -> None:
    from editorial import clock
    from editorial.drafts import draft_from_form, submit_draft

    piece = plan(session, people, taxonomy)
    assert piece.modified_at is None  # nothing published has changed yet
    moments = iter(datetime(2026, 6, day, 8, tzinfo=UTC) for day in range(2, 10))
    monkeypatch.setattr(clock, "now", lambda: next(moments))
    editor = people["editor"]
    workflow.update_piece(session, editor, piece.slug, {"assignee": "bob@example.com"}, 1, "api")
    assert piece.modified_at is None
    workflow.update_piece(session, editor, piece.slug, {"summary": "Where it goes."}, 2, "api")
    summarised = piece.modified_at
    assert summarised is not None
    submit_draft(session, editor, piece.slug, draft_from_form(None, None, "Body."), 3, "form")
    assert piece.modified_at is not None and piece.modified_at > summarised
    drafted = piece.modified_at
    submit_draft(session, editor, piece.slug, draft_from_form(None, None, "Body."), 4, "form")
    assert piece.modified_at == drafted  # the same text again changes nothing readers see
    last = session.exec(select(Revision).where(Revision.number == 5)).one()
    assert last.front_matter["lastmod"] == drafted.isoformat()
