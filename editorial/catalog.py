"""Everything public at one moment, loaded in a few queries: the input of every public page.

The live server and the static export both build pages from a Catalog, so that the same piece
gives the same bytes in both. Piece bodies (HTML) are not part of it; they are read per page.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property

from sqlalchemy import Select, func, text
from sqlmodel import Session, col, select

from editorial import clock
from editorial.clock import to_utc
from editorial.models import ALIASED_SQL, DIMENSIONS, Piece, PieceTerm, Status
from editorial.pieces import last_modified, newest_first, public_filter
from editorial.slugs import author_slug

RELATED = 4  # related pieces shown on a piece page


@dataclass
class Entry:
    """One public piece's metadata (no body)."""

    id: int
    slug: str
    title: str
    summary: str
    author: str | None
    format: str | None
    publish_at: datetime | None
    updated_at: datetime
    reading_minutes: int
    derived_from: str | None
    version: int
    modified_at: datetime | None = None
    aliases: tuple[str, ...] = ()
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What a listing shows of this entry; changes whenever the piece changes. Every write bumps
    # the version and sets `updated_at`; the time counts too because a store made afresh counts
    # versions from 1 again, under pages an older store exported. An entry is made once per
    # catalog and never changed after, so this is worked out once, when it is made (a cached
    # property costs a lock on its first use, which planning pays for every entry).
    signature: str = field(init=False, repr=False, compare=False)
    # When the piece last changed for its readers (`last_modified`). Worked out once too: the
    # sitemap asks for it of every piece on every list.
    modified: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.signature = f"{self.slug}@{self.version}@{self.updated_at.isoformat()}"
        self.modified = last_modified(self.publish_at, self.modified_at, self.updated_at)

    @property
    def author_slug(self) -> str | None:
        return author_slug(self.author) if self.author else None


# Bumped when the ranking rule changes, so that an export ranks again rather than adopt the
# ranking its last manifest saved (2: counts past 15 shared terms no longer wrap).
RANKING_VERSION = 2


class Catalog:
    """The public pieces, newest first, with indexes by term, author, slug and lineage."""

    def __init__(self, entries: list[Entry], at: datetime) -> None:
        self.entries = entries
        self.at = at
        self.by_slug = {e.slug: e for e in entries}
        self.by_term: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        self.by_author: dict[str, list[Entry]] = defaultdict(list)
        self.variants: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            for dimension, terms in entry.terms.items():
                for term in terms:
                    self.by_term[dimension, term].append(entry)
            if entry.author_slug:
                self.by_author[entry.author_slug].append(entry)
            if entry.derived_from:
                self.variants[entry.derived_from].append(entry)

    def core(self, entry: Entry) -> Entry | None:
        """The public core piece `entry` was derived from."""
        return self.by_slug.get(entry.derived_from) if entry.derived_from else None

    def authors(self) -> dict[str, str]:
        """Author slug -> display name, for every author with a public piece."""
        return {slug: pieces[0].author or slug for slug, pieces in sorted(self.by_author.items())}

    def related(self, entry: Entry) -> list[Entry]:
        """The pieces sharing most terms with `entry`, most recent first among equals."""
        return self._related.get(entry.slug, [])

    @cached_property
    def _related(self) -> dict[str, list[Entry]]:
        return _rank_related(self.entries, self.by_term, self.lineage)

    @cached_property
    def ranking_key(self) -> str:
        """A digest of everything the related-pieces ranking depends on: the order of the
        entries, their coverage terms and their lineage. Titles, bodies and dates do not count."""
        # Slugs and terms hold no tabs, commas or line breaks, so this text is unambiguous.
        text = "\n".join(
            [
                f"{e.slug}\t{e.derived_from}\t"
                + "\t".join([",".join(e.terms.get(d, ())) for d in DIMENSIONS])
                for e in self.entries
            ]
        )
        return hashlib.blake2b(f"{RANKING_VERSION}\n{text}".encode(), digest_size=16).hexdigest()

    def ranking(self) -> dict[str, list[str]]:
        """The related pieces of every entry, by slug (what `adopt_ranking` takes back)."""
        return {slug: [e.slug for e in found] for slug, found in self._related.items()}

    def adopt_ranking(self, key: str, ranking: dict[str, list[str]]) -> bool:
        """Use a ranking saved from a catalog with the same `ranking_key` instead of ranking
        again; refused (False) when the key differs or a slug is unknown."""
        if key != self.ranking_key or self.__dict__.get("_related") is not None:
            return False
        try:
            adopted = {s: [self.by_slug[o] for o in ranking[s]] for s in self.by_slug}
        except (KeyError, TypeError):
            return False
        self.__dict__["_related"] = adopted  # what the cached property would have computed
        return True

    def lineage(self, entry: Entry) -> list[Entry]:
        """The entry's public core piece and variants (shown apart from related pieces)."""
        core = self.core(entry)
        return ([core] if core else []) + self.variants.get(entry.slug, [])


def _rank_related(
    entries: list[Entry],
    by_term: dict[tuple[str, str], list[Entry]],
    lineage: Callable[[Entry], list[Entry]],
) -> dict[str, list[Entry]]:
    """Exact "most shared terms, then newest" for every entry, with bit-sliced counters.

    Bit i of a term's mask is set when entry i (newest first) has the term. Adding an entry's
    term masks into a binary counter, one slice per bit and enough slices to count all of the
    entry's terms, gives, for every other entry, how many terms they share; the lowest set bits
    of the top non-empty level are the newest best matches.
    Cost: a few big-integer operations per term of each entry, not a loop over all pairs.
    The entry itself and its lineage (core and variants) are left out."""
    index = {e.slug: i for i, e in enumerate(entries)}
    masks = {key: sum(1 << index[e.slug] for e in group) for key, group in by_term.items()}
    everyone = (1 << len(entries)) - 1
    ranked: dict[str, list[Entry]] = {}
    for i, entry in enumerate(entries):
        keep = everyone ^ (1 << i)
        for other in lineage(entry):
            keep &= ~(1 << index[other.slug])
        keys = [(d, t) for d in DIMENSIONS for t in entry.terms.get(d, ())]
        # Four slices counted to 15 and wrapped past it: two pieces sharing 16 terms ranked as
        # sharing none.
        slices = [0] * len(keys).bit_length()
        for key in keys:
            carry = masks[key] & keep
            for level in range(len(slices)):
                slices[level], carry = slices[level] ^ carry, slices[level] & carry
        ranked[entry.slug] = [entries[j] for j in _best(slices, len(keys), everyone)]
    return ranked


def _best(slices: list[int], top: int, everyone: int) -> list[int]:
    """Indexes of up to RELATED entries with the highest counts, lowest index first per count."""
    found: list[int] = []
    for count in range(top, 0, -1):
        members = everyone
        for level, bits in enumerate(slices):
            members &= bits if count >> level & 1 else everyone ^ bits
        while members and len(found) < RELATED:
            lowest = members & -members
            found.append(lowest.bit_length() - 1)
            members ^= lowest
        if len(found) == RELATED:
            break
    return found


def load_catalog(session: Session, at: datetime | None = None) -> Catalog:
    """Every public piece at `at` (default: now) with its terms and aliases, in two queries.
    Each piece's terms arrive joined into one text (a row per piece, not per term: rows cost
    more to fetch than the joining); aliases are read apart, from the few pieces that have any.
    The queries run on the session's connection rather than through the ORM's row loading,
    which would cost more than the queries themselves."""
    at = at or clock.now()
    connection = session.connection()
    aliased = dict(connection.execute(_aliased_query()).all())
    query = _catalog_query().where(public_filter(at)).order_by(*newest_first())
    entries = [
        Entry(*row[:-1], aliases=_aliases(aliased.get(row[0])), terms=_terms(row[-1]))
        for row in connection.execute(query)
    ]
    return Catalog(entries, at)


TERM_MARK, PAIR_MARK = "\x1f", "\x1e"  # control characters, which no term holds


@cache
def _catalog_query() -> Select:
    columns = (
        Piece.id,
        Piece.slug,
        Piece.title,
        Piece.summary,
        Piece.author,
        Piece.format,
        Piece.publish_at,
        Piece.updated_at,
        Piece.reading_minutes,
        Piece.derived_from,
        Piece.version,
        Piece.modified_at,
    )
    pair = col(PieceTerm.dimension) + TERM_MARK + col(PieceTerm.term)
    terms = (
        select(func.aggregate_strings(pair, PAIR_MARK))
        .where(col(PieceTerm.piece_id) == col(Piece.id))
        .scalar_subquery()
    )
    # On SQLite every column read here is in ix_piece_catalog: the wide rows are never visited.
    return select(*columns, terms)


@cache
def _aliased_query() -> Select:
    """The front matter of pieces that mention aliases (on SQLite, the partial index's rows)."""
    return select(Piece.id, Piece.front_matter).where(text(ALIASED_SQL))


def _terms(joined: str | None) -> dict[str, tuple[str, ...]]:
    """A piece's terms by dimension, each in order (the database joins them in no set order)."""
    grouped: dict[str, list[str]] = {}
    for pair in sorted(joined.split(PAIR_MARK)) if joined else ():
        dimension, _, term = pair.partition(TERM_MARK)  # never fails, even on a stray mark
        grouped.setdefault(dimension, []).append(term)
    return {dimension: tuple(terms) for dimension, terms in grouped.items()}


def _aliases(front_matter: dict | None) -> tuple[str, ...]:
    aliases = (front_matter or {}).get("aliases") or ()
    if isinstance(aliases, str):
        return (aliases,)
    # Ingest refuses anything but text since; a store from before may hold a number.
    return tuple(a for a in aliases if isinstance(a, str)) if isinstance(aliases, list) else ()


def change_key(session: Session, at: datetime | None = None) -> tuple:
    """Changes whenever any piece is added or changed: every write bumps a piece's `version`
    (and sets `updated_at`), and pieces are never deleted, only archived. Given a moment `at`,
    only the pieces public then count: a draft's edit leaves the key as it was, while a piece
    that goes public or stops being public changes it."""
    query = _change_key_query()
    if at is not None:
        query = query.where(public_filter(at))
    return tuple(session.connection().execute(query).one())


@cache
def _change_key_query() -> Select:
    return select(func.count(), func.sum(Piece.version), func.max(Piece.updated_at))


def next_change(session: Session, at: datetime) -> datetime | None:
    """The next moment after `at` when a piece becomes public or expires."""
    upcoming = session.exec(
        select(func.min(Piece.publish_at)).where(
            col(Piece.status).in_([Status.PUBLISHED, Status.SCHEDULED]), col(Piece.publish_at) > at
        )
    ).one()
    expiring = session.exec(
        select(func.min(Piece.expire_at)).where(col(Piece.expire_at) > at)
    ).one()
    moments = [to_utc(m) for m in (upcoming, expiring) if m is not None]
    return min(moments, default=None)


class CatalogCache:
    """One process's catalog, reused until the store changes or a scheduled moment passes.

    Checking costs one small aggregate query, so several processes stay correct without
    sharing anything but the database."""

    def __init__(self) -> None:
        self._catalog: Catalog | None = None
        self._key: tuple | None = None
        self._until: datetime | None = None

    @property
    def until(self) -> datetime | None:
        """When the catalog last read stops being right by itself (the next scheduled moment)."""
        return self._until

    def get(self, session: Session, at: datetime | None = None) -> Catalog:
        at = at or clock.now()
        key = change_key(session)
        catalog = self._catalog
        stale = self._until is not None and at >= self._until
        if catalog is None or key != self._key or stale or at < catalog.at:
            catalog = load_catalog(session, at)
            self._catalog, self._key, self._until = catalog, key, next_change(session, at)
        return catalog
