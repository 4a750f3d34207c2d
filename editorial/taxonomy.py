"""The site's vocabulary (`taxonomy.yaml`): dimensions, their terms, and coverage targets."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from editorial.models import COVERAGE_DIMENSIONS, DIMENSIONS
from editorial.plaindata import control_character
from editorial.slugs import is_slug, slugify

TERM_KEYS = {"slug", "label", "description", "weight"}
TARGET_KEYS = {
    "per_cell": 1,
    "fresh_days": 365,
    "horizon_weeks": 12,
    "pieces_per_week": 2,
    "topic_cadence_weeks": 8,
}
# The longest spans the targets may give (days or weeks): reports add them to dates, and a span
# of thousands of years ends outside the calendar.
LONGEST = {"fresh_days": 36500, "horizon_weeks": 520, "topic_cadence_weeks": 520}


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Term:
    """One declared value of a dimension."""

    slug: str
    label: str
    description: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class Targets:
    """How much fresh coverage each cell should have, and the publishing cadence to plan for."""

    per_cell: int = 1
    fresh_days: int = 365
    horizon_weeks: int = 12  # how far ahead planned pieces count as coverage
    pieces_per_week: int = 2  # publications a week the calendar can carry
    topic_cadence_weeks: int = 8  # a topic with no publication for this long is flagged
    # dimension -> term -> target, for every cell with that term; 0 marks cells as not wanted
    overrides: dict[str, dict[str, int]] = field(default_factory=dict, hash=False)

    def target(self, audience: str, stage: str, topic: str) -> int:
        """A cell's target: 0 if any override says 0, else the largest override, else per_cell."""
        cell = zip(COVERAGE_DIMENSIONS, (audience, stage, topic), strict=True)
        found = [v for d, t in cell if (v := self.overrides.get(d, {}).get(t)) is not None]
        if not found:
            return self.per_cell
        return 0 if 0 in found else max(found)


@dataclass(frozen=True)
class Taxonomy:
    """Every dimension's terms in declared order, plus the coverage targets."""

    dimensions: dict[str, tuple[Term, ...]]
    targets: Targets = Targets()
    _index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
    _terms: dict[tuple[str, str], Term] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for dimension, terms in self.dimensions.items():
            self._terms.update(((dimension, term.slug), term) for term in terms)
            names: dict[str, str] = {}
            for term in terms:
                names[term.slug] = term.slug
                names.setdefault(slugify(term.label), term.slug)
            self._index[dimension] = names

    @property
    def names_fingerprint(self) -> str:
        """What reading a piece's file depends on: each dimension's term slugs and labels, in
        order (a comment, a description, a weight or a coverage target changes nothing there)."""
        names = {d: [(t.slug, t.label) for t in terms] for d, terms in self.dimensions.items()}
        return _digest(sorted(names.items()))

    @property
    def terms_fingerprint(self) -> str:
        """What pages may show: every dimension's terms as declared (not the coverage targets,
        which only the coverage report reads)."""
        return _digest(list(self.dimensions.items()))

    def terms(self, dimension: str) -> tuple[Term, ...]:
        """The terms of `dimension` in declared order (empty for an undeclared one)."""
        return self.dimensions.get(dimension, ())

    def term(self, dimension: str, slug: str) -> Term | None:
        """The declared term `slug` of `dimension`, if any."""
        return self._terms.get((dimension, slug))

    def resolve(self, dimension: str, value: str) -> str | None:
        """The slug that `value` names (by slug or label, any case), or None."""
        return self._index.get(dimension, {}).get(slugify(value))

    def closest(self, dimension: str, value: str) -> str | None:
        """The declared slug nearest to a misspelt `value`, for error messages."""
        slugs = [t.slug for t in self.terms(dimension)]
        matches = difflib.get_close_matches(slugify(value), slugs, n=1, cutoff=0.0)
        return matches[0] if matches else None


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate a taxonomy file; errors name the file, the line and the problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy file ({exc.strerror})") from exc
    return parse_taxonomy(raw, str(path))


def parse_taxonomy(raw: bytes, where: str) -> Taxonomy:
    """Validate taxonomy YAML given as bytes; `where` names it in errors."""
    try:
        text = raw.decode("utf-8")
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{where}: not UTF-8 text (byte {exc.start})") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise TaxonomyError(f"{where}, line {line}: malformed YAML: {exc.problem}") from exc
    reader = _Reader(where)
    mapping = reader.mapping(node, data, "the file")
    unknown = sorted(set(mapping) - set(DIMENSIONS) - {"targets"})
    if unknown:
        reader.fail(
            mapping[unknown[0]][0],
            f"unknown key '{unknown[0]}'; expected one of {', '.join((*DIMENSIONS, 'targets'))}",
        )
    dimensions = {d: reader.terms(d, *mapping[d][1:]) for d in DIMENSIONS if d in mapping}
    missing = [d for d in COVERAGE_DIMENSIONS if d not in mapping]
    if missing:
        reader.fail(node, f"the coverage dimension '{missing[0]}' is not declared")
    targets = Targets()
    if "targets" in mapping:
        targets = reader.targets(*mapping["targets"][1:], dimensions)
    return Taxonomy(dimensions, targets)


def _digest(value: Any) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()


class _Reader:
    """Walks the YAML node tree beside the loaded data, so every error carries a line."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        raise TaxonomyError(f"{self.where}, line {line}: {message}")

    def mapping(self, node: yaml.Node | None, data: Any, what: str) -> dict[str, tuple]:
        if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
            self.fail(node, f"{what} must be a mapping of keys to values")
        assert isinstance(node, yaml.MappingNode)
        fields: dict[str, tuple] = {}
        for key, value in node.value:
            if key.value in fields:
                self.fail(key, f"'{key.value}' is declared twice")
            # a key YAML reads as a number or a boolean is absent here, and rejected as unknown
            fields[str(key.value)] = (key, value, data.get(key.value))
        return fields

    def terms(self, dimension: str, node: yaml.Node, data: Any) -> tuple[Term, ...]:
        if not isinstance(node, yaml.SequenceNode) or not data:
            self.fail(node, f"'{dimension}' must be a non-empty list of terms")
        terms: list[Term] = []
        for item_node, item in zip(node.value, data, strict=True):
            term = self.term(dimension, item_node, item)
            if any(t.slug == term.slug for t in terms):
                self.fail(item_node, f"{dimension} term '{term.slug}' is declared twice")
            terms.append(term)
        return tuple(terms)

    def term(self, dimension: str, node: yaml.Node, data: Any) -> Term:
        if isinstance(data, str):
            data = {"slug": data}
        else:
            fields = self.mapping(node, data, f"each {dimension} term")
            extra = sorted(set(fields) - TERM_KEYS)
            if extra:
                self.fail(
                    fields[extra[0]][0],
                    f"unknown term key '{extra[0]}'; expected {', '.join(sorted(TERM_KEYS))}",
                )
        slug = data.get("slug")
        if not isinstance(slug, str) or not is_slug(slug):
            hint = f" (try '{slugify(slug)}')" if isinstance(slug, str) and slugify(slug) else ""
            self.fail(
                node,
                f"{dimension} term needs a 'slug' of lower-case letters, digits "
                f"and hyphens, got {slug!r}{hint}",
            )
        weight = data.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            self.fail(
                node, f"{dimension} term '{slug}': weight must be a number >= 0, got {weight!r}"
            )
        label = data.get("label") or slug.replace("-", " ").capitalize()
        term = Term(slug, str(label), str(data.get("description") or ""), float(weight))
        if problem := control_character(term.label + term.description):
            self.fail(node, f"{dimension} term '{slug}': the label or description {problem}")
        return term

    def targets(
        self, node: yaml.Node, data: Any, dimensions: dict[str, tuple[Term, ...]]
    ) -> Targets:
        fields = self.mapping(node, data, "'targets'")
        values: dict[str, int] = {}
        overrides: dict[str, dict[str, int]] = {}
        for key, (key_node, value_node, value) in fields.items():
            if key in COVERAGE_DIMENSIONS:
                overrides[key] = self.overrides(key, value_node, value, dimensions[key])
                continue
            if key not in TARGET_KEYS:
                expected = ", ".join((*TARGET_KEYS, *COVERAGE_DIMENSIONS))
                self.fail(key_node, f"unknown target '{key}'; expected one of {expected}")
            least = 1 if key == "horizon_weeks" else 0
            values[key] = self.whole(key_node, f"target '{key}'", value, least, LONGEST.get(key))
        return Targets(**values, overrides=overrides)

    def overrides(
        self, dimension: str, node: yaml.Node, data: Any, terms: tuple[Term, ...]
    ) -> dict[str, int]:
        """Per-term targets, such as `audience: {purchasing: 2, sales: 0}`."""
        fields = self.mapping(node, data, f"'targets: {dimension}'")
        slugs = [t.slug for t in terms]
        found: dict[str, int] = {}
        for slug, (key_node, _value_node, value) in fields.items():
            if slug not in slugs:
                closest = difflib.get_close_matches(slugify(slug), slugs, n=1, cutoff=0.0)
                hint = f"; did you mean '{closest[0]}'?" if closest else ""
                self.fail(key_node, f"targets: unknown {dimension} '{slug}'{hint}")
            found[slug] = self.whole(key_node, f"target for {dimension} '{slug}'", value, 0)
        return found

    def whole(
        self, node: yaml.Node, what: str, value: Any, least: int, most: int | None = None
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            self.fail(node, f"{what} must be a whole number >= {least}, got {value!r}")
        if most is not None and value > most:
            self.fail(node, f"{what} must be at most {most}, got {value!r}")
        return value


def current_taxonomy(path: Path) -> Taxonomy:
    """The taxonomy at `path`, re-read only when the file changes."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy file ({exc.strerror})") from exc
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime_ns: int, _size: int) -> Taxonomy:
    return load_taxonomy(path)
