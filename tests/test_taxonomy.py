"""The taxonomy file: every error names the file, the line and what is wrong; lookups and
closest-term suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest

from editorial.taxonomy import (
    Targets,
    Taxonomy,
    TaxonomyError,
    current_taxonomy,
    load_taxonomy,
    parse_taxonomy,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "site" / "taxonomy.yaml"
COVERAGE = "stage:\n  - awareness\ntopic:\n  - cloud\n"  # four lines


def error(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(raw, "site/taxonomy.yaml")
    return str(caught.value)


def test_the_fixture_taxonomy_reads_in_declared_order() -> None:
    taxonomy = load_taxonomy(FIXTURE)
    assert [t.slug for t in taxonomy.terms("stage")] == ["awareness", "consideration", "purchase"]
    cio = taxonomy.term("audience", "cio")
    assert cio is not None
    assert (cio.label, cio.description, cio.weight) == ("CIO", "Chief information officers.", 3)
    assert taxonomy.term("audience", "finance").weight == 1.0  # type: ignore[union-attr]
    assert taxonomy.targets == Targets(per_cell=1, fresh_days=365)
    assert taxonomy.terms("persona") == ()


def test_plain_string_terms_get_a_label_and_default_targets() -> None:
    taxonomy = parse_taxonomy(f"audience:\n  - line-of-business\n{COVERAGE}".encode(), "t")
    term = taxonomy.term("audience", "line-of-business")
    assert term is not None and term.label == "Line of business"
    assert taxonomy.targets == Targets()
    assert "format" not in taxonomy.dimensions


def test_broken_yaml() -> None:
    text = f"{COVERAGE}audience:\n  - slug: cio\n  - [oops\n"
    assert error(text) == (
        "site/taxonomy.yaml, line 8: malformed YAML: did not find expected ',' or ']'"
    )
    assert error(f"{COVERAGE}audience:\n  - slug: cio\n label: CIO\n") == (
        "site/taxonomy.yaml, line 7: malformed YAML: did not find expected key"
    )


def test_not_utf8() -> None:
    assert error(f"{COVERAGE}audience:\n  - café\n".encode("latin-1")) == (
        "site/taxonomy.yaml: not UTF-8 text (byte 55)"
    )


@pytest.mark.parametrize("text", ["", "- audience\n- stage\n", "just words\n"])
def test_a_file_that_is_not_a_mapping(text: str) -> None:
    assert error(text) == (
        "site/taxonomy.yaml, line 1: the file must be a mapping of keys to values"
    )


def test_a_term_without_slug() -> None:
    text = f"{COVERAGE}audience:\n  - slug: cio\n  - label: Finance\n"
    assert error(text) == (
        "site/taxonomy.yaml, line 7: audience term needs a 'slug' of lower-case letters, "
        "digits and hyphens, got None"
    )


def test_a_slug_that_is_not_url_safe_suggests_one() -> None:
    text = f"{COVERAGE}audience:\n  - slug: Line Of Business\n"
    assert error(text) == (
        "site/taxonomy.yaml, line 6: audience term needs a 'slug' of lower-case letters, "
        "digits and hyphens, got 'Line Of Business' (try 'line-of-business')"
    )


def test_a_label_no_feed_could_carry() -> None:
    text = f'{COVERAGE}audience:\n  - slug: cio\n    label: "C\\x1bIO"\n'
    assert error(text) == (
        "site/taxonomy.yaml, line 6: audience term 'cio': the label or description contains a "
        "control character (U+001B), which pages and feeds cannot carry; remove it"
    )


def test_a_duplicate_slug() -> None:
    text = f"{COVERAGE}audience:\n  - slug: cio\n  - finance\n  - slug: cio\n    label: C\n"
    assert error(text) == "site/taxonomy.yaml, line 8: audience term 'cio' is declared twice"


def test_a_key_declared_twice() -> None:
    text = f"audience:\n  - cio\n{COVERAGE}audience:\n  - finance\n"
    assert error(text) == "site/taxonomy.yaml, line 7: 'audience' is declared twice"
    text = f"audience:\n  - slug: cio\n    slug: cfo\n{COVERAGE}"
    assert error(text) == "site/taxonomy.yaml, line 3: 'slug' is declared twice"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{COVERAGE}true: 1\n",
            "line 5: unknown key 'true'; expected one of audience, stage, topic, format, targets",
        ),
        (
            f"{COVERAGE}audience:\n  - slug: cio\n    1: x\n",
            "line 7: unknown term key '1'; expected description, label, slug, weight",
        ),
    ],
    ids=["true", "1"],
)
def test_keys_that_yaml_reads_as_numbers_or_booleans(text: str, message: str) -> None:
    assert error(text) == f"site/taxonomy.yaml, {message}"


@pytest.mark.parametrize("weight", ["heavy", "-1", "true", "[1]"])
def test_a_weight_of_the_wrong_type(weight: str) -> None:
    shown = {"heavy": "'heavy'", "true": "True"}.get(weight, weight)
    text = f"{COVERAGE}audience:\n  - slug: cio\n  - slug: finance\n    weight: {weight}\n"
    assert error(text) == (
        f"site/taxonomy.yaml, line 7: audience term 'finance': weight must be a number >= 0, "
        f"got {shown}"
    )


def test_a_term_of_the_wrong_shape() -> None:
    assert error(f"{COVERAGE}audience:\n  - 5\n") == (
        "site/taxonomy.yaml, line 6: each audience term must be a mapping of keys to values"
    )
    assert error(f"{COVERAGE}audience:\n  - slug: cio\n    colour: red\n") == (
        "site/taxonomy.yaml, line 7: unknown term key 'colour'; "
        "expected description, label, slug, weight"
    )


@pytest.mark.parametrize("value", ["[]", "", "cio"])
def test_a_dimension_that_is_not_a_list_of_terms(value: str) -> None:
    assert error(f"{COVERAGE}audience: {value}\n") == (
        "site/taxonomy.yaml, line 5: 'audience' must be a non-empty list of terms"
    )


def test_an_unknown_dimension() -> None:
    text = f"audience:\n  - cio\n{COVERAGE}persona:\n  - slug: builder\n"
    assert error(text) == (
        "site/taxonomy.yaml, line 7: unknown key 'persona'; "
        "expected one of audience, stage, topic, format, targets"
    )


def test_a_missing_coverage_dimension() -> None:
    assert error("audience:\n  - cio\nstage:\n  - awareness\n") == (
        "site/taxonomy.yaml, line 1: the coverage dimension 'topic' is not declared"
    )


TARGET_ERRORS = {
    "not a number": (
        "  per_cell: many\n",
        "line 8: target 'per_cell' must be a whole number >= 0, got 'many'",
    ),
    "a fraction": (
        "  per_cell: 1.5\n",
        "line 8: target 'per_cell' must be a whole number >= 0, got 1.5",
    ),
    "negative": (
        "  per_cell: 1\n  fresh_days: -5\n",
        "line 9: target 'fresh_days' must be a whole number >= 0, got -5",
    ),
    "empty": ("  per_cell:\n", "line 8: target 'per_cell' must be a whole number >= 0, got None"),
    "zero horizon": (
        "  horizon_weeks: 0\n",
        "line 8: target 'horizon_weeks' must be a whole number >= 1, got 0",
    ),
    # spans that would end outside the calendar when a report adds them to today
    "a horizon of ten thousand years": (
        "  horizon_weeks: 500000\n",
        "line 8: target 'horizon_weeks' must be at most 520, got 500000",
    ),
    "freshness for millennia": (
        "  fresh_days: 1000000\n",
        "line 8: target 'fresh_days' must be at most 36500, got 1000000",
    ),
    "misspelt": (
        "  per_cel: 2\n",
        "line 8: unknown target 'per_cel'; expected one of per_cell, fresh_days, horizon_weeks, "
        "pieces_per_week, topic_cadence_weeks, audience, stage, topic",
    ),
}


@pytest.mark.parametrize(("targets", "message"), TARGET_ERRORS.values(), ids=TARGET_ERRORS)
def test_bad_targets(targets: str, message: str) -> None:
    text = f"audience:\n  - cio\n{COVERAGE}targets:\n{targets}"
    assert error(text) == f"site/taxonomy.yaml, {message}"


def test_targets_that_are_not_a_mapping() -> None:
    assert error(f"audience:\n  - cio\n{COVERAGE}targets: 3\n") == (
        "site/taxonomy.yaml, line 7: 'targets' must be a mapping of keys to values"
    )


def test_targets_are_read() -> None:
    text = f"audience:\n  - cio\n{COVERAGE}targets:\n  per_cell: 2\n  fresh_days: 90\n"
    targets = parse_taxonomy(text.encode(), "t").targets
    assert (targets.per_cell, targets.fresh_days) == (2, 90)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "taxonomy.yaml"
    for read in (load_taxonomy, current_taxonomy):
        with pytest.raises(TaxonomyError) as caught:
            read(missing)
        assert str(caught.value) == (
            f"{missing}: cannot read the taxonomy file (No such file or directory)"
        )


def test_load_taxonomy_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(f"{COVERAGE}audience: []\n")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value) == f"{path}, line 5: 'audience' must be a non-empty list of terms"


def test_resolve_by_slug_or_label_in_any_case() -> None:
    taxonomy = load_taxonomy(FIXTURE)
    assert taxonomy.resolve("audience", "CIO") == "cio"
    assert taxonomy.resolve("format", "White Paper") == "white-paper"
    assert taxonomy.resolve("format", "white-paper") == "white-paper"
    assert taxonomy.resolve("audience", "fnance") is None
    assert taxonomy.resolve("persona", "cio") is None


@pytest.mark.parametrize(
    ("dimension", "value", "closest"),
    [
        ("audience", "fnance", "finance"),
        ("audience", "CIOs", "cio"),
        ("stage", "Consideraton", "consideration"),
        ("format", "whitepaper", "white-paper"),
    ],
)
def test_closest_term(dimension: str, value: str, closest: str) -> None:
    assert load_taxonomy(FIXTURE).closest(dimension, value) == closest


def test_closest_term_of_an_undeclared_dimension_is_none() -> None:
    bare = Taxonomy({"audience": ()})
    assert bare.closest("audience", "cio") is None
    assert bare.closest("format", "blog") is None


def test_fingerprints_follow_what_files_and_pages_depend_on() -> None:
    """Reading files depends on term slugs and labels; pages on the terms as declared; neither
    on a comment or the coverage targets."""
    text = f"audience:\n  - slug: cio\n    label: CIO\n{COVERAGE}"
    first = parse_taxonomy(text.encode(), "a")

    def changed(new_text: str) -> tuple[bool, bool]:
        other = parse_taxonomy(new_text.encode(), "b")
        return (
            other.names_fingerprint != first.names_fingerprint,
            other.terms_fingerprint != first.terms_fingerprint,
        )

    assert changed(text) == (False, False)
    assert changed(text + "# note\n") == (False, False)
    assert changed(text + "targets:\n  per_cell: 3\n") == (False, False)
    described = text.replace("label: CIO\n", "label: CIO\n    description: Runs IT\n")
    assert changed(described) == (False, True)
    assert changed(text.replace("label: CIO", "label: Chief information officer")) == (True, True)
    assert changed(text.replace("  - slug: cio\n", "  - slug: cto\n")) == (True, True)


def test_current_taxonomy_rereads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(f"audience:\n  - cio\n{COVERAGE}")
    first = current_taxonomy(path)
    assert current_taxonomy(path) is first
    path.write_text(f"audience:\n  - cio\n  - finance\n{COVERAGE}")
    assert [t.slug for t in current_taxonomy(path).terms("audience")] == ["cio", "finance"]
