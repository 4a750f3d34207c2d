"""One source file -> piece data: every bad input named by line and field, Hugo/Jekyll habits,
TOML front matter, and safe Markdown rendering."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from editorial.markdown import LINK_TARGET_RE, WORD_RE, count_words
from editorial.slugs import slugify
from editorial.source import InvalidSource, PieceData, parse_source
from editorial.taxonomy import Taxonomy, load_taxonomy, parse_taxonomy

TAXONOMY = Path(__file__).resolve().parent / "fixtures" / "site" / "taxonomy.yaml"
PATH = "posts/example.md"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(TAXONOMY)


def parse(taxonomy: Taxonomy, text: str | bytes, path: str = PATH) -> PieceData:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_source(path, raw, taxonomy)


def problems(taxonomy: Taxonomy, text: str | bytes) -> list[str]:
    """Every error the file has, as a person reads them."""
    with pytest.raises(InvalidSource) as caught:
        parse(taxonomy, text)
    assert str(caught.value) == "; ".join(e.describe() for e in caught.value.errors)
    return [e.describe() for e in caught.value.errors]


def test_a_minimal_file_gets_defaults(taxonomy: Taxonomy) -> None:
    data = parse(taxonomy, "---\ntitle: '  Hello  '\n---\n\nBody.\n", "posts/Hello World.md")
    assert (data.slug, data.title, data.status, data.summary) == (
        "hello-world",
        "Hello",
        "published",
        "",
    )
    assert (data.publish_at, data.format, data.terms) == (None, None, [])
    assert data.body == "Body.\n"
    assert data.front_matter == {"title": "  Hello  "}


def test_missing_title(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "---\nsummary: No title here\n---\nBody\n") == [
        "field 'title': 'title' is required; add a line 'title: …' to the front matter"
    ]


def test_empty_front_matter_lacks_a_title(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "---\n---\nBody\n") == [
        "field 'title': 'title' is required; add a line 'title: …' to the front matter"
    ]


@pytest.mark.parametrize(
    "front",
    ['title: "   "', 'title: "\\t"', 'title: "\\u00a0"', "title:", 'title: ""', 'title = " \\t "'],
    ids=["spaces", "tab", "no-break-space", "null", "empty", "toml"],
)
def test_a_blank_title_is_missing(taxonomy: Taxonomy, front: str) -> None:
    fence = "+++" if " = " in front else "---"
    assert problems(taxonomy, f"{fence}\n{front}\n{fence}\nBody\n") == [
        "line 2, field 'title': 'title' is required and cannot be blank; fill it in"
    ]


def test_blank_text_is_no_text(taxonomy: Taxonomy) -> None:
    text = '---\ntitle: T\nslug: " "\nsummary: "\\t"\nauthors: [" ", Ann]\n---\n'
    data = parse(taxonomy, text, "posts/From The Name.md")
    assert (data.slug, data.summary, data.author) == ("from-the-name", "", "Ann")


def test_a_slug_with_nothing_to_suggest_says_what_a_slug_is(taxonomy: Taxonomy) -> None:
    text = '---\ntitle: T\nslug: "???"\nderived_from: "日本"\n---\n'
    assert problems(taxonomy, text) == [
        "line 3, field 'slug': '???' is not URL-safe (lower-case letters, digits and hyphens); "
        "write one with ASCII letters or digits",
        "line 4, field 'derived_from': '日本' is not a piece slug; "
        "write one with ASCII letters or digits",
    ]


def test_bad_dates_name_their_line_and_field(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\ndate: next tuesday\npublishDate: [2025]\ndue: 2025\n---\n"
    hint = "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
    assert problems(taxonomy, text) == [
        f"line 4, field 'publishDate': bad date [2025]; {hint}",
        f"line 3, field 'date': bad date 'next tuesday'; {hint}",
        f"line 5, field 'due': bad date 2025; {hint}",
    ]


@pytest.mark.parametrize(
    ("lines", "modified"),
    [
        ("lastmod: 2025-05-10T08:30:00+02:00", datetime(2025, 5, 10, 6, 30, tzinfo=UTC)),
        ("modified: 2025-05-10", datetime(2025, 5, 10, tzinfo=UTC)),  # Pelican's name
        ("lastmod: 2025-06-01\nmodified: 2025-05-10", datetime(2025, 6, 1, tzinfo=UTC)),
        ("", None),
    ],
)
def test_lastmod_says_when_the_piece_last_changed(
    taxonomy: Taxonomy, lines: str, modified: datetime | None
) -> None:
    assert parse(taxonomy, f"---\ntitle: T\n{lines}\n---\n").modified == modified


def test_a_bad_lastmod_is_named(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "---\ntitle: T\nlastmod: last week\n---\n") == [
        "line 3, field 'lastmod': bad date 'last week'; "
        "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
    ]


def test_dates_at_the_ends_of_the_calendar_are_errors_not_crashes(taxonomy: Taxonomy) -> None:
    """A time zone could carry the first or last day Python knows past its end (the whole
    ingest stopped on one such file); no piece means a year outside 1000-9998."""
    text = (
        "---\ntitle: T\ndate: 0001-01-01T00:00:00+05:00\nexpiryDate: 9999-12-31T23:59:59-05:00\n"
        "due: '0999-12-31'\nreview_by: 9998-12-31\n---\n"
    )
    assert problems(taxonomy, text) == [
        f"line {line}, field '{key}': the date {moment} is out of range; "
        "give a year from 1000 to 9998"
        for line, key, moment in (
            (3, "date", "0001-01-01T00:00:00+05:00"),
            (4, "expiryDate", "9999-12-31T23:59:59-05:00"),
            (5, "due", "0999-12-31T00:00:00"),
        )
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("aliases: 5", "line 3, field 'aliases': expected a path or a list of paths, got a number"),
        ("aliases: [/old/, true]", "line 3, field 'aliases': expected a path or a list of paths, got a true/false"),
        ("aliases: {a: b}", "line 3, field 'aliases': expected a path or a list of paths, got a mapping"),
        ("slug: " + "-".join(["word"] * 50), "line 3, field 'slug': the slug is over 200 characters; shorten it"),
        ("derived_from: example", "line 3, field 'derived_from': a piece cannot be a version of itself; name its core piece"),
        ("tags: [" + "x" * 201 + "]", f"line 3, field 'tags': the tag {'x' * 40!r}… is over 200 characters"),
    ],
)  # fmt: skip
def test_values_the_export_could_not_use_are_named(
    taxonomy: Taxonomy, line: str, problem: str
) -> None:
    """Each of these was stored, then broke the export or the site: a number as an alias made
    every page answer 500, a 250-character slug made a path no file system takes."""
    assert problems(taxonomy, f"---\ntitle: T\n{line}\n---\nBody.\n") == [problem]


def test_impossible_calendar_dates_are_errors_not_crashes(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\ndate: 2025-13-45\nreview_by: 2025-02-30\n---\n"
    hint = "write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
    assert problems(taxonomy, text) == [
        f"line 3, field 'date': bad date '2025-13-45'; {hint}",
        f"line 4, field 'review_by': bad date '2025-02-30'; {hint}",
    ]


def test_unknown_term_names_field_value_and_closest_term(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\naudience: [cio, fnance]\nstages: purchse\n---\n"
    assert problems(taxonomy, text) == [
        "line 3, field 'audience': unknown audience 'fnance'; did you mean 'finance'? "
        "(declare new terms in taxonomy.yaml)",
        "line 4, field 'stages': unknown stage 'purchse'; did you mean 'purchase'? "
        "(declare new terms in taxonomy.yaml)",
    ]


def test_unknown_term_of_an_undeclared_dimension(taxonomy: Taxonomy) -> None:
    bare = parse_taxonomy(b"audience: [cio]\nstage: [awareness]\ntopic: [cloud]\n", "t.yaml")
    assert problems(bare, "---\ntitle: T\nformat: podcast\n---\n") == [
        "line 3, field 'format': unknown format 'podcast'; the taxonomy declares none "
        "(declare new terms in taxonomy.yaml)"
    ]


def test_terms_resolve_by_slug_or_label_in_any_case(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\naudience: [CIO, Finance]\nstage: awareness\nformat: White Paper\n---\n"
    data = parse(taxonomy, text)
    assert data.terms == [
        ("audience", "cio"),
        ("audience", "finance"),
        ("stage", "awareness"),
        ("format", "white-paper"),
    ]
    assert data.format == "white-paper"


def test_no_front_matter(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "# Just a heading\n\nText.\n") == [
        "line 1: no front matter; start the file with a '---' line, then 'title: …', then '---'"
    ]


@pytest.mark.parametrize("fence", ["---", "+++"])
def test_front_matter_never_closed(taxonomy: Taxonomy, fence: str) -> None:
    assert problems(taxonomy, f"{fence}\ntitle: T\n\nBody\n") == [
        f"front matter opened with '{fence}' on line 1 is never closed; "
        f"add a '{fence}' line after it"
    ]


def test_malformed_yaml_names_the_file_line(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\naudience: [cio\nstage: awareness\n---\n"
    assert problems(taxonomy, text) == [
        "line 4: malformed YAML front matter: did not find expected ',' or ']'"
    ]
    assert problems(taxonomy, "---\ntitle: T\nsummary: a: b\n---\n") == [
        "line 3: malformed YAML front matter: mapping values are not allowed in this context"
    ]


def test_front_matter_that_is_not_a_mapping(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "---\n- title\n- T\n---\n") == [
        "line 2: front matter must be 'key: value' lines, found a list"
    ]


def test_wrong_types_are_all_reported(taxonomy: Taxonomy) -> None:
    text = (
        "---\ntitle: [a, b]\nstatus: finished\ndraft: maybe\n"
        "tags: {a: 1}\nauthors: [Ann, 3]\nslug: Not A Slug\n---\n"
    )
    assert sorted(problems(taxonomy, text)) == [
        "line 2, field 'title': expected text, got a list",
        "line 3, field 'status': unknown status 'finished'; use one of idea, planned, draft, "
        "review, approved, scheduled, published, archived",
        "line 4, field 'draft': expected true or false, got 'maybe'",
        "line 5, field 'tags': expected a term or a list of terms, got mapping",
        "line 6, field 'authors': expected a list of names",
        "line 7, field 'slug': 'Not A Slug' is not URL-safe (lower-case letters, digits "
        "and hyphens); try 'not-a-slug'",
    ]


TAG_HINT = "correct the value or remove the tag"
LONG = (
    "a number of more than 4300 digits, which cannot be stored; put it in quotes to keep it as text"
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("!!int abc", f"'abc' is not a whole number, as its tag !!int says; {TAG_HINT}"),
        ("!!int", f"'' is not a whole number, as its tag !!int says; {TAG_HINT}"),
        ("!!float abc", f"'abc' is not a number, as its tag !!float says; {TAG_HINT}"),
        ("!!bool maybe", f"'maybe' is not true or false, as its tag !!bool says; {TAG_HINT}"),
        ("!!timestamp soon", f"'soon' is not a date, as its tag !!timestamp says; {TAG_HINT}"),
        ("9" * 5000, LONG),
        ("-1_" + "0" * 5000, LONG),
        ("0x" + "f" * 5000, LONG),  # read, but too long to write out in decimal
    ],
    ids=["int", "empty-int", "float", "bool", "timestamp", "digits", "signed", "hex"],
)
def test_values_yaml_cannot_make_are_errors_not_crashes(
    taxonomy: Taxonomy, value: str, problem: str
) -> None:
    assert problems(taxonomy, f"---\ntitle: T\nextra: {value}\n---\n") == [
        f"line 3, field 'extra': {problem}"
    ]


def test_a_tagged_value_deep_in_a_list_is_named_by_its_line(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\nextra:\n  - 1\n  - !!bool maybe\n---\n"
    assert problems(taxonomy, text) == [
        f"line 5: 'maybe' is not true or false, as its tag !!bool says; {TAG_HINT}"
    ]


def test_a_key_too_long_to_write_out_is_an_error(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\n? 0x" + "f" * 5000 + "\n: 1\n---\n"
    assert problems(taxonomy, text) == [f"a key is {LONG}"]


def test_a_key_written_twice_is_an_error_not_the_last_one_winning(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: Draft title\nsummary: S\ntitle: Final title\n---\n"
    assert problems(taxonomy, text) == [
        "line 4: 'title' is written twice, first on line 2; keep one"
    ]
    nested = "---\ntitle: T\nextra:\n  a: 1\n  a: 2\n---\n"
    assert problems(taxonomy, nested) == ["line 5: 'a' is written twice, first on line 4; keep one"]


def test_a_merge_key_may_still_be_overridden(taxonomy: Taxonomy) -> None:
    text = "---\ntitle: T\nbase: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n---\n"
    assert parse(taxonomy, text).front_matter["other"] == {"x": 2}


@pytest.mark.parametrize(
    ("written", "number"),
    [("3:10", 190), ("1.50", 1.5), ("010", 8), ("0x1F", 31), ("1_000", 1000), ("1984", 1984)],
)
def test_text_fields_keep_numbers_as_they_were_written(
    taxonomy: Taxonomy, written: str, number: float
) -> None:
    """YAML 1.1 reads these as numbers (3:10 is base 60); a title is what its writer typed."""
    text = f"---\ntitle: {written}\nsummary: {written}\ntags: [{written}]\nextra: {written}\n---\n"
    data = parse(taxonomy, text)
    assert (data.title, data.summary) == (written, written)
    assert data.terms == [("tag", slugify(written))]
    assert data.front_matter == {
        "title": written,
        "summary": written,
        "tags": [written],
        "extra": number,  # a field that is not text keeps the number YAML read
    }


@pytest.mark.parametrize("number", ["9" * 5000, "1_" + "0" * 5000, "0x" + "f" * 5000])
def test_toml_numbers_too_long_are_errors_not_crashes(taxonomy: Taxonomy, number: str) -> None:
    text = f'+++\ntitle = "T"\nsummary = "S"\nextra = {number}\n+++\n'
    assert problems(taxonomy, text) == [f"line 4, field 'extra': {LONG}"]


def test_derived_from_must_be_a_slug(taxonomy: Taxonomy) -> None:
    assert problems(taxonomy, "---\ntitle: T\nderived_from: Cloud Basics\n---\n") == [
        "line 3, field 'derived_from': 'Cloud Basics' is not a piece slug; try 'cloud-basics'"
    ]


@pytest.mark.parametrize("raw", [b"", b"  \n\n\t\n"])
def test_empty_file(taxonomy: Taxonomy, raw: bytes) -> None:
    assert problems(taxonomy, raw) == ["the file is empty; a piece needs front matter with a title"]


def test_a_file_that_is_not_utf8(taxonomy: Taxonomy) -> None:
    raw = "---\ntitle: T\nsummary: café\n---\n".encode("latin-1")
    assert problems(taxonomy, raw) == ["line 3: not UTF-8 text (byte 25); save the file as UTF-8"]


def test_toml_front_matter(taxonomy: Taxonomy) -> None:
    text = (
        '+++\ntitle = "From Hugo"\ndate = 2025-01-01T10:00:00+02:00\n'
        'audience = ["cio"]\ntags = ["roadmap"]\n+++\n\nBody.\n'
    )
    data = parse(taxonomy, text)
    assert (data.title, data.body) == ("From Hugo", "Body.\n")
    assert data.publish_at == datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    assert data.terms == [("audience", "cio"), ("tag", "roadmap")]
    assert data.front_matter["date"] == "2025-01-01T10:00:00+02:00"


def test_malformed_toml_names_the_file_line(taxonomy: Taxonomy) -> None:
    text = '+++\ntitle = "T"\ndate = = 2025\n+++\n'
    assert problems(taxonomy, text) == ["line 3: malformed TOML front matter: Invalid value"]


def test_toml_errors_of_fields_carry_lines_too(taxonomy: Taxonomy) -> None:
    text = '+++\ntitle = "T"\ntopic = "clowd"\n+++\n'
    assert problems(taxonomy, text) == [
        "line 3, field 'topic': unknown topic 'clowd'; did you mean 'cloud'? "
        "(declare new terms in taxonomy.yaml)"
    ]


@pytest.mark.parametrize("fence", ["---\ntitle: T\n---", '+++\ntitle = "T"\n+++'])
def test_a_utf8_bom_is_accepted(taxonomy: Taxonomy, fence: str) -> None:
    data = parse(taxonomy, f"\ufeff{fence}\n\nCafé.\n".encode())
    assert (data.title, data.body) == ("T", "Café.\n")


def test_windows_line_endings_are_accepted(taxonomy: Taxonomy) -> None:
    data = parse(taxonomy, "---\r\ntitle: T\r\naudience: cio\r\n---\r\n\r\n## Why\r\n")
    assert (data.title, data.terms) == ("T", [("audience", "cio")])
    assert data.html == '<h2 id="why">Why</h2>\n'


def test_hugo_and_jekyll_fields(taxonomy: Taxonomy) -> None:
    text = (
        "---\ntitle: T\ndraft: true\ndate: 2020-01-01\n"
        "publishDate: 2025-05-01T10:00:00+02:00\nexpiryDate: 2025-06-01\n"
        "tags: [analytics, Roadmap Ideas, cio]\ncategories: [White Paper, Events]\n"
        "description: From the description.\nauthors: [Ann, Bob]\n---\n"
    )
    data = parse(taxonomy, text)
    assert data.status == "draft"
    assert data.publish_at == datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    assert data.expire_at == datetime(2025, 6, 1, tzinfo=UTC)
    assert data.terms == [
        ("topic", "analytics"),
        ("tag", "roadmap-ideas"),
        ("audience", "cio"),
        ("format", "white-paper"),
        ("tag", "events"),
    ]
    assert (data.format, data.summary, data.author) == (
        "white-paper",
        "From the description.",
        "Ann, Bob",
    )


def test_a_tag_kept_as_written_may_not_hold_control_characters(taxonomy: Taxonomy) -> None:
    """A tag with no ASCII letters is stored as written; control characters in it are refused
    (the catalog reads a piece's terms joined with control characters)."""
    assert parse(taxonomy, "---\ntitle: T\ntags: [\u65e5\u672c]\n---\n").terms == [
        ("tag", "\u65e5\u672c")
    ]
    found = problems(taxonomy, '---\ntitle: T\ntags: ["\\u65e5\\t\\u672c"]\n---\n')
    assert found == ["line 3, field 'tags': the tag '\u65e5\\t\u672c' holds control characters"]


def test_characters_no_feed_can_carry_are_refused_where_they_stand(taxonomy: Taxonomy) -> None:
    """XML forbids most control characters: one in a title would make every feed listing the
    piece unreadable. Escapes bring them into front matter, copying into the body."""
    found = problems(taxonomy, '---\ntitle: "Battle\\vcards"\nsummary: "a\\x1bb"\n---\nBody.\n')
    assert found == [
        f"line {line}, field '{key}': contains a control character ({code}), "
        "which pages and feeds cannot carry; remove it"
        for line, key, code in ((2, "title", "U+000B"), (3, "summary", "U+001B"))
    ]
    found = problems(taxonomy, "---\ntitle: T\n---\nFirst.\n\nPage\x0cbreak.\n")
    assert found == [
        "line 6: the text contains a control character (U+000C), "
        "which pages and feeds cannot carry; remove it"
    ]
    kept = parse(taxonomy, '---\ntitle: "Tab\\there"\n---\nA\ttab, a line\r\nend.\n')
    assert kept.title == "Tab\there" and "\t" in kept.body


def test_draft_false_and_an_explicit_status_win_over_draft(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, "---\ntitle: T\ndraft: false\n---\n").status == "published"
    assert parse(taxonomy, "---\ntitle: T\ndraft: true\nstatus: Review\n---\n").status == "review"
    assert problems(taxonomy, "---\ntitle: T\ndraft: true\nstatus: published\n---\n") == [
        "line 3, field 'draft': 'draft: true' and 'status: published' disagree; remove one"
    ]


def test_dates_are_utc(taxonomy: Taxonomy) -> None:
    text = (
        "---\ntitle: T\ndate: '2025-03-01T09:00:00-05:00'\ndue: 2025-04-01 23:30:00\n"
        "review_by: 2026-01-15\n---\n"
    )
    data = parse(taxonomy, text)
    assert data.publish_at == datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    assert data.publish_at is not None and data.publish_at.tzinfo == UTC
    assert data.due_at == datetime(2025, 4, 1, 23, 30, tzinfo=UTC)
    assert data.review_by == date(2026, 1, 15)


MARKDOWN = """\
---
title: Rich
---

## Why now

| Plan | Cost |
| --- | ---: |
| Lift | 10 |

~~old~~ new[^1]

[^1]: A note.

<script>alert("x")</script>

[click](javascript:alert(1)) and <a href="javascript:steal()">raw</a>

<p onclick="steal()">para</p>
"""


def test_markdown_extensions_are_rendered(taxonomy: Taxonomy) -> None:
    html = parse(taxonomy, MARKDOWN).html
    assert '<h2 id="why-now">Why now</h2>' in html
    assert '<th style="text-align:right">Cost</th>' in html
    assert "<td>Lift</td>" in html
    assert "<s>old</s>" in html
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1"' in html
    assert '<li id="fn1" class="footnote-item"><p>A note.' in html


def test_headings_sit_below_the_title_with_ids_of_their_own(taxonomy: Taxonomy) -> None:
    """The page's title is its one <h1>; a heading's anchor never takes an id the page already
    holds (the feedback script found a heading named Feedback instead of its section)."""
    body = "# Intro\n\n## Feedback\n\n## !!!\n\n## Fn1\n\nText[^1]\n\n[^1]: A note.\n"
    html = parse(taxonomy, f"---\ntitle: T\n---\n{body}").html
    headings = re.findall(r"<(h\d)(?: id=\"([^\"]*)\")?>", html)
    assert headings == [
        ("h2", "intro"),
        ("h3", "feedback-section"),
        ("h3", "section"),
        ("h3", "fn1-section"),
    ]
    assert html.count('id="fn1"') == 1
    plain = parse(taxonomy, "---\ntitle: T\n---\n## Why\n\n### How\n").html
    assert re.findall(r"<(h\d) id=\"([^\"]*)\">", plain) == [("h2", "why"), ("h3", "how")]


def test_scripts_and_javascript_links_are_sanitised(taxonomy: Taxonomy) -> None:
    html = parse(taxonomy, MARKDOWN).html
    assert "<script" not in html and 'alert("x")' not in html
    # the Markdown link is refused (left as text); the raw one loses its href
    assert '<p>[click](javascript:alert(1)) and <a rel="noopener noreferrer">raw</a></p>' in html
    assert 'href="javascript' not in html and "steal()" not in html
    assert "<p>para</p>" in html and "onclick" not in html


def test_word_count_and_reading_time(taxonomy: Taxonomy) -> None:
    short = parse(taxonomy, "---\ntitle: T\n---\nIt's a [linked](https://x.example/a-b) word.\n")
    assert (short.word_count, short.reading_minutes) == (4, 1)
    long = parse(taxonomy, "---\ntitle: T\n---\n" + "word " * 690)
    assert (long.word_count, long.reading_minutes) == (690, 3)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("B2B buyer's long-form guide", 4),
        ("a--b, -a- 'quoted' x'-y don't", 7),
        ("snake_case and 2026-11-30", 4),
        ("| --- | :---: |\n- item\n## Heading *one* **two**", 4),
        ("See [the guide](https://x.example/one-two-three) now", 4),
        ("Caf\u00e9 na\u00efve r\u00e9sum\u00e9 buyer\u2019s", 4),
        ("", 0),
    ],
)
def test_words_are_letters_and_digits_joined_by_single_apostrophes_or_hyphens(
    text: str, words: int
) -> None:
    assert count_words(text) == words


WORDY = st.text(st.sampled_from(list("aZ09_'-\u2019 \t\n*#|[]()/.:\u00e9")), max_size=80)


@given(st.one_of(WORDY, st.text(max_size=80)))
def test_word_count_is_the_word_rule_however_it_is_counted(text: str) -> None:
    """ASCII text is counted by splitting, other text by the rule itself: the same number."""
    assert count_words(text) == len(WORD_RE.findall(LINK_TARGET_RE.sub("]", text)))
