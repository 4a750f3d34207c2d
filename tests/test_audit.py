"""The reader audit: grouped SQL roll-ups checked against a plain-Python recomputation, best and
worst subject areas, low-rated pieces, and the page, API and command that show it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from feedback_support import PUBLIC, app_client, make_user, sign_in
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlmodel import Session
from typer.testing import CliRunner

from editorial import clock
from editorial.audit import audit, low_rated_pieces, low_rated_query, rank
from editorial.cli import app as cli
from editorial.feedback import widgets
from editorial.ingest import ingest
from editorial.models import DIMENSIONS, Comment, Piece, PieceTerm, Rating, Status
from editorial.moderation import moderate
from editorial.settings import Settings
from editorial.slugs import slugify

# slug, status, author, terms
PIECES = [
    (
        "a",
        Status.PUBLISHED,
        "Dana Reyes",
        {"audience": ["cio"], "stage": ["awareness"], "topic": ["cloud"], "format": ["blog-post"]},
    ),
    (
        "b",
        Status.PUBLISHED,
        "dana reyes",  # the same author, as her page has it: one group
        {"audience": ["cio", "finance"], "stage": ["consideration"], "topic": ["cloud", "data"]},
    ),
    (
        "c",
        Status.PUBLISHED,
        "Sam Ito",
        {
            "audience": ["finance"],
            "stage": ["awareness"],
            "topic": ["data"],
            "format": ["white-paper"],
        },
    ),
    (
        "d",
        Status.PUBLISHED,
        None,
        {"audience": ["cio"], "stage": ["decision"], "topic": ["security"]},
    ),
    (
        "e",
        Status.DRAFT,
        "Sam Ito",
        {"audience": ["cio"], "stage": ["awareness"], "topic": ["cloud"]},
    ),
    ("f", Status.PUBLISHED, "Sam Ito", {"tag": ["free"]}),
]


@pytest.fixture
def pieces(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        ids = {}
        for slug, status, author, terms in PIECES:
            piece = Piece(slug=slug, title=slug.upper(), status=status, author=author)
            session.add(piece)
            session.flush()
            ids[slug] = piece.id
            for dimension, values in terms.items():
                for term in values:
                    session.add(PieceTerm(piece_id=piece.id, dimension=dimension, term=term))
        session.commit()
    return ids


def expected(ratings: list[tuple[str, int]], comments: list[tuple[str, str]], s: Settings):
    """The roll-up, recomputed in plain Python from the same rows."""
    groups: dict[tuple[str, str], list[int]] = {}
    for slug, status, author, terms in PIECES:
        if status != Status.PUBLISHED:
            continue
        keys = [(d, t) for d in DIMENSIONS for t in terms.get(d, [])]
        keys += [("author", slugify(author))] if author else []
        stars = [n for piece, n in ratings if piece == slug]
        approved = [1 for piece, state in comments if piece == slug and state == "approved"]
        for key in keys:
            group = groups.setdefault(key, [0, 0, 0, 0])
            group[0] += 1
            group[1] += len(stars)
            group[2] += sum(stars)
            group[3] += len(approved)
    w, m = s.rating_prior_weight, s.rating_prior_mean
    return {
        key: (
            pieces,
            count,
            round(total / count, 3) if count else None,
            round((w * m + total) / (w + count), 3) if count else None,
            approved,
        )
        for key, (pieces, count, total, approved) in groups.items()
    }


def store(engine: Engine, ids: dict[str, int], ratings: list, comments: list) -> None:
    with Session(engine) as session:
        session.exec(delete(Comment))
        session.exec(delete(Rating))
        for reader, (slug, stars) in enumerate(ratings):
            session.add(Rating(piece_id=ids[slug], reader=f"r{reader}", stars=stars))
        for n, (slug, status) in enumerate(comments):
            session.add(
                Comment(piece_id=ids[slug], reader="x", name="N", body=f"b{n}", status=status)
            )
        session.commit()


SLUGS = st.sampled_from([p[0] for p in PIECES])
RATINGS = st.lists(st.tuples(SLUGS, st.integers(1, 5)), max_size=40)
COMMENTS = st.lists(
    st.tuples(SLUGS, st.sampled_from(["pending", "approved", "rejected", "spam"])), max_size=15
)


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ratings=RATINGS, comments=COMMENTS, weight=st.sampled_from([0.0, 2.0, 5.0]))
def test_roll_ups_match_a_plain_python_recomputation(
    engine: Engine, pieces: dict[str, int], settings: Settings, ratings, comments, weight: float
) -> None:
    configured = settings.model_copy(update={"rating_prior_weight": weight})
    store(engine, pieces, ratings, comments)
    with Session(engine) as session:
        report = audit(session, configured)
    found = {
        (g.dimension, g.term): (g.pieces, g.ratings, g.mean, g.bayesian, g.comments)
        for g in report.groups
    }
    assert found == expected(ratings, comments, configured)
    authors = {g.term: g.label for g in report.groups if g.dimension == "author"}
    assert authors == {"dana-reyes": "Dana Reyes", "sam-ito": "Sam Ito"}
    assert ("tag", "free") not in found
    best, worst = rank(report.groups, configured.audit_min_ratings)
    assert (report.best, report.worst) == (best, worst)
    eligible = sorted(
        (g for g in report.groups if g.dimension != "author" and g.ratings >= 5),
        key=lambda g: (-g.bayesian, -g.ratings, g.dimension, g.term),
    )
    assert report.best == eligible[:3]
    assert not set(map(id, report.best)) & set(map(id, report.worst))


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ratings=RATINGS)
def test_low_rated_pieces_in_sql_and_python_agree(
    engine: Engine, pieces: dict[str, int], settings: Settings, ratings
) -> None:
    store(engine, pieces, ratings, [])
    with Session(engine) as session:
        listed = {s.slug for s in low_rated_pieces(session, settings)}
        ids = set(session.exec(low_rated_query(settings)).all())
    by_id = {v: k for k, v in pieces.items()}
    w, m = settings.rating_prior_weight, settings.rating_prior_mean
    python = set()
    for slug, *_ in PIECES:
        stars = [n for piece, n in ratings if piece == slug]
        low = (w * m + sum(stars)) / (w + len(stars)) < settings.low_rating_threshold
        if len(stars) >= settings.low_rating_min_count and low:
            python.add(slug)
    assert {by_id[i] for i in ids} == python
    published = {slug for slug, status, *_ in PIECES if status == Status.PUBLISHED}
    assert listed == python & published


def test_best_and_worst_need_enough_ratings(
    engine: Engine, pieces: dict[str, int], settings: Settings
) -> None:
    store(engine, pieces, [("a", 5)] * 4 + [("c", 1)] * 6 + [("b", 4)] * 5, [])
    with Session(engine) as session:
        report = audit(session, settings)
    ranked = [(g.dimension, g.term) for g in report.best + report.worst]
    assert ("format", "blog-post") not in ranked  # four ratings: not enough to rank
    assert ("author", "sam-ito") not in ranked  # people are not subject areas
    # cio and cloud: a and b, 9 ratings, (5·3 + 40) / 14; consideration: b, (15 + 20) / 10.
    assert [(g.term, g.bayesian) for g in report.best] == [
        ("cio", round(55 / 14, 3)),
        ("cloud", round(55 / 14, 3)),
        ("consideration", 3.5),
    ]
    # white-paper: c, (15 + 6) / 11; then finance and data: b and c, (15 + 26) / 16.
    assert [(g.term, g.bayesian) for g in report.worst] == [
        ("white-paper", round(21 / 11, 3)),
        ("finance", round(41 / 16, 3)),
        ("data", round(41 / 16, 3)),
    ]


def test_pieces_no_longer_public_leave_the_audit(
    engine: Engine, pieces: dict[str, int], settings: Settings, frozen_clock
) -> None:
    store(engine, pieces, [("a", 5)], [])
    with Session(engine) as session:
        piece = session.get(Piece, pieces["a"])
        piece.expire_at = frozen_clock + timedelta(days=1)
        session.add(piece)
        session.commit()
        now = audit(session, settings)
        later = audit(session, settings, at=clock.now() + timedelta(days=2))
    assert any(g.term == "blog-post" for g in now.groups)
    assert not any(g.term == "blog-post" for g in later.groups)


def test_comments_count_as_the_page_shows_them(
    engine: Engine, pieces: dict[str, int], settings: Settings
) -> None:
    # a reply approved under a comment that a moderator rejects later: pages hide the thread
    with Session(engine) as session:
        first = Comment(piece_id=pieces["a"], reader="x", name="N", body="b0", status="approved")
        session.add(first)
        session.flush()
        reply = Comment(piece_id=pieces["a"], parent_id=first.id, reader="y", name="M", body="b1")
        session.add(reply)
        session.flush()
        moderate(session, [reply.id], "approve")
        moderate(session, [first.id], "reject")
        session.commit()
        shown = widgets(session, settings, [pieces["a"]])[pieces["a"]].comment_count
        groups = {(g.dimension, g.term): g.comments for g in audit(session, settings).groups}
    assert shown == 0
    assert groups[("format", "blog-post")] == 0  # piece a alone has this format
    assert groups[("audience", "cio")] == 0


@pytest.fixture
def site(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    for stars in (1, 1, 2):
        client.cookies.clear()
        client.post(f"/api/pieces/{PUBLIC}/ratings", json={"stars": stars})
    client.cookies.clear()
    return client


def test_audit_api_is_for_editors(site: TestClient, engine: Engine) -> None:
    editor = make_user(engine, "editor", "ada@example.com")
    writer = make_user(engine, "contributor", "cy@example.com")
    assert site.get("/api/feedback/audit").status_code == 401
    denied = site.get("/api/feedback/audit", headers={"Authorization": f"Bearer {writer}"})
    assert denied.status_code == 403
    auth = {"Authorization": f"Bearer {editor}"}
    body = site.get("/api/feedback/audit", headers=auth).json()
    cio = next(g for g in body["groups"] if (g["dimension"], g["term"]) == ("audience", "cio"))
    assert cio["label"] == "CIO" and cio["ratings"] == 3 and cio["mean"] == round(4 / 3, 3)
    assert body["prior"] == {"mean": 3.0, "weight": 5.0}
    response = site.get("/api/feedback/audit?format=csv", headers=auth)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"dimension": "audience", "term": "cio", "ratings": "3"}.items() <= next(
        r for r in rows if r["term"] == "cio"
    ).items()
    low = site.get("/api/feedback/low-rated", headers=auth).json()
    assert [p["slug"] for p in low] == [PUBLIC]


def test_audit_page(site: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "editor", "ada@example.com")
    with app_client(settings) as editor:
        sign_in(editor, "ada@example.com")
        page = editor.get("/editor/audit").text
    assert "<h1>Reader audit</h1>" in page
    assert '<h2 id="by-audience">By audience</h2>' in page
    assert '<a href="/authors/dana-reyes/">Dana Reyes</a>' in page  # the author's page
    assert "Cloud basics for the CIO" in page  # low-rated
    assert "(few ratings)" in page
    assert 'href="/api/feedback/audit?format=csv"' in page


def test_audit_command(site: TestClient) -> None:
    runner = CliRunner()
    as_json = runner.invoke(cli, ["audit", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    groups = json.loads(as_json.output)["groups"]
    assert any(g["term"] == "cio" and g["ratings"] == 3 for g in groups)
    as_csv = runner.invoke(cli, ["audit", "--format", "csv"])
    assert (
        as_csv.output.splitlines()[0]
        == "dimension,term,label,pieces,ratings,mean,bayesian,comments"
    )
    table = runner.invoke(cli, ["audit"])
    assert table.exit_code == 0 and "CIO" in table.output and "Best: none" in table.output


def test_csv_cells_cannot_run_as_formulas(
    engine: Engine, pieces: dict[str, int], settings: Settings
) -> None:
    with Session(engine) as session:
        piece = session.get(Piece, pieces["d"])
        piece.author = "=HYPERLINK(1)"
        session.add(piece)
        session.commit()
        text = audit(session, settings).as_csv()
    assert "'=HYPERLINK(1)" in text
