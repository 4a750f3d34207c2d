"""Fuzz front matter and Markdown ingest (hypothesis): whatever bytes a file holds, parsing
gives either a piece every store can keep or validation errors a person can read, never a
crash; and the hostile cases found that way are ingested cleanly on every database."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from editorial.drafts import draft_from_file
from editorial.ingest import ingest
from editorial.plaindata import CONTROL_RE
from editorial.source import InvalidSource, PieceData, parse_source
from editorial.taxonomy import load_taxonomy
from editorial.workflow import InvalidInput

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "site"
TAXONOMY = load_taxonomy(FIXTURES / "taxonomy.yaml")
FUZZ = settings(
    max_examples=300, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
FIELDS = ["title", "slug", "date", "status", "author", "audience", "stage", "topic", "format"]
FIELDS += ["summary", "due", "assignee", "derived_from", "review_by", "draft", "tags"]
FIELDS += ["categories", "aliases", "expires", "audiences", "topics"]
TERMS = ["cio", "finance", "awareness", "purchase", "cloud", "blog-post", "nope", "Cloud"]


def parse(raw: bytes) -> PieceData | None:
    """The piece, or None for a file with clean validation errors; anything else fails."""
    try:
        data = parse_source("posts/fuzzed.md", raw, TAXONOMY)
    except InvalidSource as invalid:
        assert invalid.errors
        for error in invalid.errors:
            assert error.message.strip() and isinstance(error.describe(), str)
        return None
    json.dumps(data.front_matter, allow_nan=False)  # what the store writes
    for value in (data.slug, data.title, data.summary, data.author or "", data.body):
        assert not CONTROL_RE.search(value)  # no feed or page could carry it
        value.encode("utf-8")
    assert "\x00" not in data.html
    assert data.title.strip() and data.slug
    return data


@FUZZ
@given(st.binary(max_size=3000))
def test_any_bytes(raw: bytes) -> None:
    parse(raw)


@FUZZ
@given(st.binary(max_size=1500))
def test_any_bytes_inside_front_matter_fences(raw: bytes) -> None:
    parse(b"---\n" + raw + b"\n---\nBody.\n")
    parse(b"+++\n" + raw + b"\n+++\nBody.\n")


YAML_SYNTAX = st.text(alphabet="&*[]{}:-!|>'\"#?,%@`\\ \t\nabcx01.:", max_size=200)


@FUZZ
@given(YAML_SYNTAX, st.text(max_size=300))
def test_yaml_punctuation_in_front_matter(front: str, body: str) -> None:
    parse(f"---\ntitle: Fuzzed\n{front}\n---\n{body}".encode("utf-8", "surrogatepass"))


SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.dates() | st.datetimes() | st.sampled_from(TERMS)
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
META = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), VALUES, max_size=8)
MARKDOWN = st.lists(
    st.sampled_from(["# H", "## Two", "*a*", "[l](/x)", "<script>x</script>", "<img src=x onerror=y>",
                     "| a | b |\n|:-|-:|\n| 1 | 2 |", "[^1]\n\n[^1]: note", "```\ncode\n```", "> q",
                     "---", "+++", "\r\n", "\ufeff", "<!-- c -->", "javascript:alert(1)"]) | st.text(max_size=40),
    max_size=12,
).map("\n".join)  # fmt: skip


@FUZZ
@given(META, MARKDOWN)
def test_yaml_structures_and_markdown(meta: dict, body: str) -> None:
    try:
        front = yaml.safe_dump(meta, allow_unicode=True)
    except yaml.YAMLError:
        return
    data = parse(f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass"))
    if data is not None:
        assert "<script" not in data.html and "onerror" not in data.html


@FUZZ
@given(META)
def test_toml_front_matter(meta: dict) -> None:
    lines = [f"{json.dumps(str(k))} = {json.dumps(v, default=str)}" for k, v in meta.items()
             if not isinstance(v, float) or math.isfinite(v)]  # fmt: skip
    parse(("+++\n" + "\n".join(lines) + "\n+++\nBody.\n").encode("utf-8", "surrogatepass"))


HOSTILE = {
    "self-reference": b"---\ntitle: x\nextra: &a [*a]\n---\nbody\n",
    "alias-bomb": b"---\ntitle: x\na: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n---\nbody\n",
    "nan": b"---\ntitle: x\nextra: .nan\n---\nbody\n",
    "toml-infinity": b"+++\ntitle = 'x'\nt = inf\n+++\nbody\n",
    "nul-escape": b'---\ntitle: "a\\x00b"\n---\nbody\n',
    "nul-byte": b"---\ntitle: x\n---\nbo\x00dy\n",
    "control-escape": b'---\ntitle: "Battle\\vcards"\n---\nbody\n',
    "control-escape-in-a-list": b'---\ntitle: x\naliases: ["old\\x1bpath"]\n---\nbody\n',
    "control-byte": b"---\ntitle: x\n---\nbody\n\npage\x0cbreak\n",
    "binary": b"---\ntitle: x\nextra: !!binary aGVsbG8=\n---\nbody\n",
    "set": b"---\ntitle: x\nextra: !!set {a, b}\n---\nbody\n",
    "deep-yaml": b"---\ntitle: x\nextra: " + b"[" * 900 + b"]" * 900 + b"\n---\nbody\n",
    "deep-toml": b"+++\ntitle = 'x'\nx = " + b"[" * 3000 + b"]" * 3000 + b"\n+++\nbody\n",
    "bad-int-tag": b"---\ntitle: x\nn: !!int abc\n---\nbody\n",
    "bad-float-tag": b"---\ntitle: x\nn: !!float abc\n---\nbody\n",
    "bad-bool-tag": b"---\ntitle: x\nn: !!bool maybe\n---\nbody\n",
    "bad-timestamp-tag": b"---\ntitle: x\nn: !!timestamp abc\n---\nbody\n",
    "long-yaml-integer": b"---\ntitle: x\nn: " + b"9" * 5000 + b"\n---\nbody\n",
    "long-yaml-hex": b"---\ntitle: x\nn: 0x" + b"f" * 5000 + b"\n---\nbody\n",
    "long-toml-integer": b"+++\ntitle = 'x'\nn = " + b"9" * 5000 + b"\n+++\nbody\n",
    "long-toml-hex": b"+++\ntitle = 'x'\nn = 0x" + b"f" * 5000 + b"\n+++\nbody\n",
}
KEPT = {
    "toml-time": b"+++\ntitle = 'Toml time'\nt = 07:32:00\n+++\nbody\n",
    "big-integer": b"---\ntitle: Big integer\nextra: 123456789012345678901234567890\n---\nbody\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_front_matter_is_a_clean_error(name: str) -> None:
    with pytest.raises(InvalidSource) as invalid:
        parse_source(f"posts/{name}.md", HOSTILE[name], TAXONOMY)
    assert invalid.value.errors[0].describe()
    with pytest.raises(InvalidInput) as refused:  # an uploaded draft goes through the same parser
        draft_from_file(f"{name}.md", HOSTILE[name], TAXONOMY, limit=1 << 20)
    assert refused.value.errors


def test_hostile_files_are_reported_and_the_rest_stored(engine: Engine, content_dir: Path) -> None:
    for name, raw in {**HOSTILE, **KEPT}.items():
        (content_dir / "posts" / f"{name}.md").write_bytes(raw)
    report = ingest(engine, content_dir, workers=1)
    assert {e["path"] for e in report.errors} == {f"posts/{n}.md" for n in HOSTILE}
    with engine.connect() as connection:
        stored = set(connection.execute(text("SELECT slug FROM piece")).scalars())
    assert {"toml-time", "big-integer"} <= stored
