"""The catalog: related pieces against a brute-force ranking, and the per-process cache."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from editorial import clock
from editorial.catalog import RELATED, Catalog, CatalogCache, Entry, load_catalog
from editorial.ingest import ingest
from editorial.models import Piece, PieceTerm

# 20 terms, so that two pieces can share more than 15 (a counter once wrapped there).
TERMS = {"audience": list("abcdef"), "stage": list("ghijkl"), "topic": list("mnopqrst")}
START = datetime(2025, 1, 1, tzinfo=UTC)


def entry(i: int, terms: dict[str, tuple[str, ...]], derived_from: str | None = None) -> Entry:
    moment = START - timedelta(days=i)
    return Entry(
        i, f"p{i}", f"Piece {i}", "", None, None, moment, moment, 1, derived_from, 1, terms=terms
    )


term_sets = st.fixed_dictionaries(
    {
        d: st.lists(st.sampled_from(ts), unique=True, max_size=len(ts)).map(tuple)
        for d, ts in TERMS.items()
    }
)


@settings(max_examples=150, deadline=None)
@given(st.lists(term_sets, min_size=1, max_size=30), st.data())
def test_related_equals_brute_force(all_terms, data) -> None:
    derived = [data.draw(st.none() | st.integers(0, len(all_terms) - 1)) for _ in all_terms]
    entries = [
        entry(i, terms, None if d is None or d == i else f"p{d}")
        for i, (terms, d) in enumerate(zip(all_terms, derived, strict=True))
    ]
    catalog = Catalog(entries, START)

    def shared(a: Entry, b: Entry) -> int:
        return sum(len(set(a.terms.get(d, ())) & set(b.terms.get(d, ()))) for d in TERMS)

    for position, piece in enumerate(entries):
        excluded = {piece.slug} | {e.slug for e in catalog.lineage(piece)}
        candidates = [
            (-shared(piece, other), index, other.slug)
            for index, other in enumerate(entries)
            if other.slug not in excluded and shared(piece, other) > 0
        ]
        expected = [slug for *_, slug in sorted(candidates)[:RELATED]]
        assert [e.slug for e in catalog.related(piece)] == expected, position


def test_pieces_sharing_sixteen_terms_or_more_are_related_first() -> None:
    every = {d: tuple(ts) for d, ts in TERMS.items()}
    for shared in (15, 16, 17, 20):
        some = {d: ts[: max(0, shared - sum(len(t) for t in list(TERMS.values())[:n]))]
                for n, (d, ts) in enumerate(every.items())}  # fmt: skip
        entries = [entry(0, every), entry(1, some), entry(2, {"audience": ("a",)})]
        assert sum(map(len, some.values())) == shared
        assert [e.slug for e in Catalog(entries, START).related(entries[0])] == ["p1", "p2"]


def test_catalog_holds_public_pieces_newest_first(
    engine: Engine, content_dir: Path, frozen_clock
) -> None:
    ingest(engine, content_dir)
    with Session(engine) as session:
        catalog = load_catalog(session)
    assert [e.slug for e in catalog.entries] == ["cloud-basics-finance", "cloud-basics"]
    assert catalog.by_slug["cloud-basics"].aliases == ("/old/cloud-basics/", "legacy-cloud.html")
    assert [e.slug for e in catalog.by_term["audience", "cio"]] == ["cloud-basics"]
    assert catalog.authors() == {"dana-reyes": "Dana Reyes"}
    finance = catalog.by_slug["cloud-basics-finance"]
    assert catalog.core(finance) is catalog.by_slug["cloud-basics"]


def test_catalog_terms_are_the_stored_terms_in_order(
    engine: Engine, content_dir: Path, frozen_clock
) -> None:
    """The catalog reads each piece's terms joined into one text; split again, they must be
    exactly the stored rows, by dimension, each dimension's terms in code-point order."""
    ingest(engine, content_dir)
    with Session(engine) as session:
        session.add(
            PieceTerm(
                piece_id=session.exec(select(Piece.id)).first(), dimension="topic", term="a-z"
            )
        )
        session.commit()
        catalog = load_catalog(session)
        rows = session.exec(select(PieceTerm.piece_id, PieceTerm.dimension, PieceTerm.term)).all()
    expected: dict[int, dict[str, list[str]]] = {}
    for piece_id, dimension, term in rows:
        expected.setdefault(piece_id, {}).setdefault(dimension, []).append(term)
    for entry_ in catalog.entries:
        stored = expected.get(entry_.id, {})
        want = {d: tuple(sorted(stored[d])) for d in sorted(stored)}
        assert entry_.terms == want, entry_.slug
        assert list(entry_.terms) == sorted(entry_.terms), entry_.slug
    assert any(entry_.terms for entry_ in catalog.entries)


def test_cache_reloads_on_change_and_when_a_scheduled_piece_is_due(
    engine: Engine, content_dir: Path, monkeypatch
) -> None:
    ingest(engine, content_dir)
    cache = CatalogCache()
    moment = datetime(2026, 6, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    with Session(engine) as session:
        first = cache.get(session)
        assert cache.get(session) is first
        assert "future" not in first.by_slug
        later = cache.get(session, at=datetime(2099, 1, 2, tzinfo=UTC))
        assert later is not first and "future" in later.by_slug
    piece = content_dir / "posts" / "cloud-basics.md"
    piece.write_text(piece.read_text().replace("Cloud basics for the CIO", "Cloud for the CIO"))
    ingest(engine, content_dir)
    with Session(engine) as session:
        changed = cache.get(session, at=datetime(2099, 1, 2, tzinfo=UTC))
    assert changed.by_slug["cloud-basics"].title == "Cloud for the CIO"


@settings(max_examples=60, deadline=None)
@given(st.lists(term_sets, min_size=2, max_size=20), st.data())
def test_a_saved_ranking_is_reused_only_for_the_same_inputs(all_terms, data) -> None:
    entries = [entry(i, terms) for i, terms in enumerate(all_terms)]
    saved = Catalog(entries, START)
    key, ranking = saved.ranking_key, saved.ranking()

    retitled = [replace(e, title=e.title + " (edited)", version=2) for e in entries]
    reused = Catalog(retitled, START)
    assert reused.adopt_ranking(key, ranking)
    computed = Catalog(retitled, START)
    assert all(reused.related(e) == computed.related(e) for e in retitled)

    moved = data.draw(st.integers(0, len(entries) - 1))
    changed_terms = {**entries[moved].terms, "topic": ("x", "y", "z")}
    if changed_terms != entries[moved].terms:
        changed = [*entries[:moved], replace(entries[moved], terms=changed_terms)]
        changed += entries[moved + 1 :]
        assert not Catalog(changed, START).adopt_ranking(key, ranking)
    reordered = Catalog(entries[::-1], START)
    assert not reordered.adopt_ranking(key, ranking)
    assert not Catalog(entries, START).adopt_ranking(key, {"p0": ["nobody"]})


@pytest.mark.parametrize(
    ("publish", "modified", "shown"),
    [
        (START, None, START),  # only the publish date is known
        (START, START + timedelta(days=3), START + timedelta(days=3)),
        (START, START - timedelta(days=3), START),  # never before it was published
        (None, START, START),
        (None, None, START + timedelta(days=9)),  # undated: the store's last write
    ],
)
def test_a_piece_is_shown_modified_when_it_last_changed_for_its_readers(
    publish, modified, shown
) -> None:
    later = START + timedelta(days=9)
    found = Entry(1, "p", "P", "", None, None, publish, later, 1, None, 2, modified_at=modified)
    assert found.modified == shown
