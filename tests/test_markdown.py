"""The Markdown renderer's two parsers: markdown-it-pyrs renders what it agrees on, markdown-it-py
defines the output. Whatever the text, render_markdown gives markdown-it-py's bytes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from editorial import markdown
from editorial.markdown import render_markdown
from editorial.source import _decode, _split

ROOT = Path(__file__).resolve().parent.parent


def reference(text: str) -> str:
    """markdown-it-py's rendering of a text, ended by a line break as every file is."""
    return markdown._reference()(text if text.endswith("\n") else text + "\n")


# Pieces of Markdown that meet each other in every order: block starts, inline markup, raw HTML,
# entities, links, code, tables, and what the screen sends to markdown-it-py.
_ATOMS = [
    *("#", "## ", "# ", "### ", "\n", "\n\n", " ", "  ", "    ", "\t", "> ", "- ", "+ ", "1. "),
    *("*", "**", "_", "`", "``", "```", "~~", "[", "]", "(", ")", "![i](s.png)", "[a](/b)"),
    *("|", "| a | b |\n", "|:-|-:|\n", "---", "===", ":-", "\\", "!", "=", "<", ">", '"', "'"),
    *("<b>", "</b>", "<h2>", "</h2>", "<div>", "</div>", "<!--", "-->", "<script>", "&amp;"),
    *("&", "&#35;", "&copy;", "http://x.example", "<https://y.example>", "[^1]", "[^1]: "),
    *("[x]: /u", "[x]", "word", "Buyer's", "Ünï", "中文", "content", "feedback", "x"),
    # what the sanitiser changes in Markdown's own HTML, or refuses
    *("```py\n", "```\n", "[a](foo:bar)", "[m](mailto:x@y.example)", '[t](/u "ti")', "3. "),
    *('![i](s.png "t")', "[h](HTTP://X.EXAMPLE)", "[e]()", "[d](./a:b)", "&nbsp;", "&quot;"),
    *("  \n", "***", "\\\n", "| a |\n|:-:|\n| b |\n", "[q](/x?a=1&b=2)", "&#0;", "&#xFEFF;"),
]
_documents = st.lists(st.sampled_from(_ATOMS), max_size=60).map("".join)
_words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
@example("# T\n\n## A\n\n## A\n\n### a\n\n#### deep\n\n##### five\n\n###### six")
@example("## content\n\n## fn1\n\n##\n\n## !!!\n\n## x\n## x-1\n## x")
@example('<h2>raw</h2>\n\n## md <span title="a>b">x</span> `c<d` &amp; &copy;')
@example("Setext *one*\nline two\n========\n\n> ## quoted\n\n- ## in list\n\n1. # h1")
@example("[a ``b")  # markdown-it-pyrs 0.4 panics on it
@example("text[^a] and[^b]\n\n[^a]: a\n[^b]: b\n\n> quote[^a]")
@example("x <!--> y")
@example("```    ```")
@example("[x]: /u<b>\\")
@example(">\t</h2>!1.word")
def test_the_output_is_markdown_it_pys_whatever_the_text(text: str) -> None:
    assert render_markdown(text) == reference(text)


@pytest.mark.skipif(markdown._fast() is None, reason="markdown-it-pyrs is not installed here")
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
@example("[a ``b")
@example("[`")
def test_the_fast_parser_never_panics_on_what_the_screen_lets_through(text: str) -> None:
    text = text if text.endswith("\n") else text + "\n"
    fast = markdown._fast()
    assert fast is not None
    if markdown._fast_agrees(text):
        fast(text)  # a panic in Rust is a BaseException: it fails the test


_without_html = st.lists(st.sampled_from([a for a in _ATOMS if "<" not in a]), max_size=80)


@pytest.mark.skipif(markdown._fast() is None, reason="markdown-it-pyrs is not installed here")
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_without_html.map("".join))
@example('## "Q" & A\n\n```py\nx = "1"\n```\n\n[a](/b "t") ![i](s.png) ***\n\n3. x')
def test_the_light_sanitiser_gives_the_sanitisers_bytes_or_leaves_it_to_it(text: str) -> None:
    """What markdown-it-pyrs makes of a text without raw HTML: `_light_clean` gives nh3's bytes
    for it, or None."""
    text = text if text.endswith("\n") else text + "\n"
    if not markdown._fast_agrees(text):
        return  # markdown-it-py renders it (markdown-it-pyrs might even panic)
    from markdown_it_pyrs import MarkdownIt

    raw = MarkdownIt("commonmark").enable_many(["table", "strikethrough"]).render(text)
    html = markdown._EMPTY_QUOTE_RE.sub(r"\1", markdown._headings(raw))
    light = markdown._light_clean(html)
    assert light is None or light == markdown._sanitiser().clean(html)


def test_the_light_sanitiser_takes_plain_markdown_and_leaves_the_rest() -> None:
    plain = '<h2 id="a">A</h2>\n<p>&quot;Q&quot; <a href="https://x.example/">x</a></p>\n<hr />\n'
    assert markdown._light_clean(plain) == (
        '<h2 id="a">A</h2>\n<p>"Q" <a href="https://x.example/" rel="noopener noreferrer">x</a>'
        "</p>\n<hr>\n"
    )
    for html in (
        '<p><a href="foo:bar">an address nh3 drops</a></p>\n',
        '<p><a href="/x" title="&quot;q&quot;">a quotation mark in a tag</a></p>\n',
        "<p>a no-break\xa0space</p>\n",
        "<div>a tag Markdown does not write</div>\n",
    ):
        assert markdown._light_clean(html) is None, html


@settings(max_examples=300, deadline=None)
@given(_words)
def test_any_text_at_all_renders_as_markdown_it_py_renders_it(text: str) -> None:
    assert render_markdown(text) == reference(text)


def test_the_fast_parser_takes_plain_pieces_and_leaves_the_rest() -> None:
    assert markdown._fast_agrees("## A heading\n\nText with **bold**, `code` and [a link](/x).\n")
    for text in (
        "Noted.[^1]\n\n[^1]: The note.\n",
        "A comment <!-- for editors -->.\n",
        "[see `the guide\n",
        "A tab\there.\n",
        "[guide]: https://example.com/guide\n",
        "`  `\n",
    ):
        assert not markdown._fast_agrees(text), text


def test_a_panic_in_the_fast_parser_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    class PanicException(BaseException):  # the name pyo3 gives a panic in Rust
        pass

    def panic(text: str) -> str:
        raise PanicException("index out of bounds")

    monkeypatch.setattr(markdown, "_fast", lambda: panic)
    assert render_markdown("## Title\n\nText.") == reference("## Title\n\nText.")


def test_without_markdown_it_pyrs_markdown_it_py_renders_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "markdown_it_pyrs", None)  # as if it were not installed
    assert markdown._fast.__wrapped__() is None
    monkeypatch.setattr(markdown, "_fast", markdown._fast.__wrapped__)
    assert render_markdown("## Title\n\nText.") == reference("## Title\n\nText.")


def test_other_errors_of_the_fast_parser_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(text: str) -> str:
        raise MemoryError

    monkeypatch.setattr(markdown, "_fast", lambda: fail)
    with pytest.raises(MemoryError):
        render_markdown("Text.")


@pytest.mark.parametrize("folder", ["content", "tests/fixtures"])
def test_the_sample_site_and_fixtures_render_as_markdown_it_py_renders_them(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.md"))
    assert files
    for path in files:
        try:
            body = _split(_decode(path.read_bytes()))[1]
        except Exception:  # a fixture that is broken on purpose: its whole text, then
            body = path.read_bytes().decode("utf-8", "replace")
        assert render_markdown(body) == reference(body), path
