"""Markdown to safe HTML: CommonMark plus tables, strikethrough, footnotes and heading anchors.

The parser and sanitiser are imported on first use, so that commands with nothing to render
start quickly."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from html import unescape as html_unescape
from itertools import filterfalse
from typing import Any

# Bump when the rendering rules change, so that cached HTML is rebuilt on the next ingest
# (2: headings shifted below the page's own <h1>; anchors clear of the page's ids;
# 3: markdown-it-pyrs in place of markdown-it-py, the same HTML).
RENDER_VERSION = "3"
WORDS_PER_MINUTE = 230
# A word: letters or digits, possibly joined by single apostrophes or hyphens ("buyer's", "B2B").
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
LINK_TARGET_RE = re.compile(r"\]\([^)]*\)")
# The same rule for ASCII text, which most pieces are: every byte that cannot be part of a word
# becomes a space, and a run of letters and digits between spaces is one word.
_ASCII_WORD_RE = re.compile(rb"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'-")
_TO_WORD_BYTES = bytes(byte if byte in _WORD_BYTES else 0x20 for byte in range(256))

# The ids a piece page holds besides its body (the default theme's, and the footnotes'): a
# heading's anchor that took one would break the link to it and the feedback script.
PAGE_IDS = frozenset(
    {"content", "feedback", "feedback-title", "feedback-held", "feedback-published"}
    | {"feedback-rated", "related-title", "variants-title", "comments-title", "add-comment"}
    | {"comment-hint", "website-rate"}
)
PAGE_ID_RE = re.compile(r"(?:fn|fnref)\d+(?::\d+)?|(?:stars|comment|body|name|website)-.*")

_EXTRA_ATTRIBUTES = {
    **{f"h{level}": {"id"} for level in range(1, 7)},
    "a": {"id", "class"},
    "li": {"id", "class"},
    "sup": {"class"},
    "section": {"class"},
    "hr": {"class"},
    "ol": {"class", "start"},
    "th": {"style"},
    "td": {"style"},
}


def render_markdown(text: str) -> str:
    """Render Markdown and sanitise the result; raw HTML survives only where it is harmless.

    markdown-it-py with its plugins defines the output. markdown-it-pyrs, its port to Rust, gives
    the same bytes about five times faster (sanitiser included), and renders every text the
    screen `_fast_agrees` lets through; the rest, and any text it fails on, go to markdown-it-py."""
    if not text.endswith("\n"):
        text += "\n"  # as every file ends; both parsers then end a last block alike
    fast = _fast() if _fast_agrees(text) else None
    if fast is not None:
        try:
            return fast(text)
        except BaseException as error:  # a panic in Rust arrives as a BaseException
            if type(error).__name__ != "PanicException":
                raise
    return _reference()(text)


# What markdown-it-pyrs is known to render otherwise than markdown-it-py, found by comparing the
# two on generated texts (tests/test_markdown.py); a text holding any of it goes to the latter.
# Footnotes (a definition interrupting a paragraph, a note referred to twice, a label defined
# twice); HTML comments and declarations (`<!-->` ends a comment since CommonMark 0.31); runs of
# three tildes or more; code spans of spaces alone (not trimmed); what may define a link
# reference (some destinations are refused).
_REFERENCE_MARKS_RE = re.compile(r"\[\^|<!|~~~|` `|`  |\]:")  # one pass: a third faster
# A line that may be an empty list item, in a quote or list or not (which may or may not end a
# quote's paragraph); searched in the text after a line break.
_REFERENCE_LINE_RE = re.compile(r"\n[ >+*-]*(?:[-+*]|\d{1,9}[.)]) *\n")
# Raw HTML headings and quotes, so that those in the output are all Markdown's own.
_REFERENCE_HTML_RE = re.compile(r"(?i:</?(?:h[1-6]|blockquote)\b)")
# A run of emphasis or strikethrough marks.
_MARKS_RE = re.compile(r"[*_~]+")
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
# A line that may be a table's delimiter row (dashes alone are a heading's underline or a rule
# to both parsers); searched in the text after a line break.
_DELIMITER_ROW_RE = re.compile(r"\n(?=[ -]*[|:])[ |:-]*-[ |:-]*\n")
_BACKTICKS_RE = re.compile(r"`+")
# A link's address with no space, parenthesis or backtick in it, and no title.
_PLAIN_ADDRESS_RE = re.compile(r"\]\([^\s()`]*\)")
# A line that opens or closes a fenced code block: inside quotes and list items or not, a run
# of three backticks or more and no other backtick.
_FENCE_LINE_RE = re.compile(r"[ >]*(?:(?:[-+*]|\d{1,9}[.)]) +)*```+[^`]*$")


def _fast_agrees(text: str) -> bool:
    """Whether markdown-it-pyrs renders the text (ended by a line break) as markdown-it-py does.
    Besides the marks above, a text is left to markdown-it-py when it holds:
    - a character Python does not print but the line break: tabs (expanded after `>`), other
      control characters, and the spaces beyond ASCII, which markdown-it-py strips from the
      ends of a line as Python does;
    - an emphasis or strikethrough mark beside a character beyond ASCII, which may be a
      symbol: punctuation to CommonMark 0.31 and markdown-it-py, a letter to markdown-it-pyrs;
    - a line with a backtick run that opens a code span and does not close it (markdown-it-pyrs
      0.4 can panic on one after a `[`);
    - a block that may hold a table with a line that does not start with `|` (a list may follow
      a table)."""
    if _REFERENCE_MARKS_RE.search(text):
        return False
    if not _printable_lines(text) or _REFERENCE_LINE_RE.search("\n" + text):
        return False
    if "<" in text and _REFERENCE_HTML_RE.search(text):
        return False
    if not text.isascii() and _beside_wide(text):
        return False
    if "`" in text and not all(map(_code_spans_close, text.split("\n"))):
        return False
    if ("|" in text or ":" in text) and _DELIMITER_ROW_RE.search("\n" + text):
        return all(map(_table_rows_only, _BLANK_LINE_RE.split(text)))
    return True


# Every character Python prints that is ASCII, and the line break.
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _printable_lines(text: str) -> bool:
    """Whether every character of the text but its line breaks is one Python prints (for an
    ASCII text, as most are, five times faster than asking Python)."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return text.replace("\n", "").isprintable()


def _table_rows_only(block: str) -> bool:
    """Whether a block that may hold a table has no line that does not start with `|`."""
    if not _DELIMITER_ROW_RE.search(f"\n{block}\n"):
        return True
    return all(row[:1] == "|" for row in block.strip("\n").split("\n"))


def _code_spans_close(line: str) -> bool:
    """Whether each backtick run in the line that opens a code span finds its closing run (one
    of the same length) in the line, taken left to right as a parser does; a line that only
    opens or closes a fenced code block passes. Conservative: a line with a backtick does not
    pass if it also holds a backslash before a backtick, `<` (an autolink or tag may hold a
    backtick), a link address other than a plain one (it may hold one too) or `|` (a table
    cell ends there)."""
    if "`" not in line or _FENCE_LINE_RE.match(line):
        return True
    line = _PLAIN_ADDRESS_RE.sub("]", line) if "](" in line else line
    if "\\`" in line or "<" in line or "](" in line or "|" in line:
        return False
    runs = [len(run) for run in _BACKTICKS_RE.findall(line)]
    while runs:
        opening = runs.pop(0)
        if opening not in runs:
            return False
        del runs[: runs.index(opening) + 1]
    return True


def _beside_wide(text: str) -> bool:
    """Whether a run of emphasis or strikethrough marks touches a character beyond ASCII."""
    for run in _MARKS_RE.finditer(text):
        start, end = run.span()
        if (start and not text[start - 1].isascii()) or not text[end : end + 1].isascii():
            return True
    return False


@cache
def _fast() -> Callable[[str], str] | None:
    """markdown-it-pyrs's renderer, or None where it is not installed (it has no build for
    Python 3.13 and later, nor for musl): markdown-it-py then renders every text."""
    try:
        from markdown_it_pyrs import MarkdownIt
    except ImportError:
        return None

    parser = MarkdownIt("commonmark").enable_many(["table", "strikethrough"])
    cleaner = _sanitiser()

    def render(text: str) -> str:
        html = _EMPTY_QUOTE_RE.sub(r"\1", _headings(parser.render(text)))
        light = _light_clean(html) if "<" not in text else None
        return cleaner.clean(html) if light is None else light

    return render


# An empty block quote, which markdown-it-pyrs writes with a line break inside.
_EMPTY_QUOTE_RE = re.compile(r"(<blockquote>)\n(?=</blockquote>)")

# The tags Markdown itself writes (a text with no `<` has no raw HTML), as the sanitiser keeps
# them: without attributes, or with those below. A link's or image's address is one with no
# scheme or a scheme the sanitiser keeps; any other tag or address goes to the sanitiser.
_ANY_TAG_RE = re.compile(r"<[^>]*>")
_BARE_TAGS = frozenset(
    f"<{slash}{name}>"
    for slash in ("", "/")
    for name in (
        *("p", "em", "strong", "s", "code", "pre", "ul", "ol", "li", "blockquote"),
        *("h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"),
    )
) | {"</a>", "<hr />", "<br />"}
_ADDRESS = r'"(?:(?:https?:|mailto:|[#/.])[^"]*|[^":]*)"'
_TITLE = r'(?: title="[^"]*")?'
_KEPT_TAG_RE = re.compile(
    rf"<a href={_ADDRESS}{_TITLE}>|<img src={_ADDRESS} alt=\"[^\"]*\"{_TITLE} />"
    r'|<h[2-6] id="[^"]*">|<ol start="\d+">|<code class="language-[^"]*">'
    r'|<t[hd] style="text-align:(?:left|center|right)">'
)
_LINK_OPEN_RE = re.compile(r"(<a [^>]*)>")
_CODE_CLASS_RE = re.compile(r'<code class="[^"]*">')


def _light_clean(html: str) -> str | None:
    """What the sanitiser makes of HTML that only Markdown wrote, without parsing it: links get
    `rel`, void tags lose their slash, code blocks their language class, and a quotation mark
    in text is written as itself. None where the HTML holds anything else (a tag or address it
    does not know, a quotation mark inside a tag, a no-break space), for the sanitiser to do.
    It gives the sanitiser's bytes (tests/test_markdown.py) in about half its time."""
    for tag in set(_ANY_TAG_RE.findall(html)):
        if tag not in _BARE_TAGS and (not _KEPT_TAG_RE.fullmatch(tag) or "&quot;" in tag):
            return None
    if "\xa0" in html:
        return None
    html = html.replace("&quot;", '"').replace(" />", ">")
    if "<code class=" in html:
        html = _CODE_CLASS_RE.sub("<code>", html)
    return _LINK_OPEN_RE.sub(r'\1 rel="noopener noreferrer">', html) if "<a " in html else html


@cache
def _reference() -> Callable[[str], str]:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.anchors.index import slugify as github
    from mdit_py_plugins.footnote import footnote_plugin

    parser = (
        MarkdownIt("commonmark", {"html": True, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
    )
    parser.core.ruler.push("below_title", _below_title)
    parser.use(anchors_plugin, min_level=2, max_level=4, slug_func=lambda t: _anchor(github(t)))
    cleaner = _sanitiser()
    return lambda text: cleaner.clean(parser.render(text))


def _below_title(state: Any) -> None:
    """The page's title is its only <h1>: a body that uses `#` headings has every heading moved
    one level down (an <h6> stays)."""
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    if any(t.tag == "h1" for t in headings):
        for token in headings:
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def _sanitiser() -> Any:
    """nh3's cleaner with its safe defaults, plus what tables, footnotes and anchors need."""
    import nh3

    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag, attrs in _EXTRA_ATTRIBUTES.items():
        attributes.setdefault(tag, set()).update(attrs)
    return nh3.Cleaner(
        tags=nh3.ALLOWED_TAGS | {"section"},
        attributes=attributes,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer",
    )


# A heading (all are Markdown's: the screen keeps raw HTML headings away): its level, and its
# content up to the closing tag. A heading's content is one line, or a few for a setext
# heading, and ends its line.
_HEADING_RE = re.compile(r"<h([1-6])>(.*?)</h\1>\n", re.DOTALL)
# What a heading's anchor is not made from: its tags (comments never come here: the screen
# sends every text with `<!` to markdown-it-py).
_TAG_RE = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_SLUG_DROP_RE = re.compile(r"[^\w\u4e00-\u9fff\- ]")


def _headings(html: str) -> str:
    """The page's title is its only <h1>: a body that uses `#` headings has every heading moved
    one level down (an <h6> stays). Headings at levels 2 to 4 then get an id for a link to them,
    from their text by GitHub's rule, unique in the page."""
    headings = list(_HEADING_RE.finditer(html))
    if not headings:
        return html
    shift = any(match[1] == "1" for match in headings)
    taken: set[str] = set()
    parts: list[str] = []
    start = 0
    for match in headings:
        level = min(int(match[1]) + shift, 6)
        content = match[2]
        attribute = ""
        if 2 <= level <= 4:
            attribute = f' id="{_unique(_anchor(_slug(content)), taken)}"'
        parts += [html[start : match.start()], f"<h{level}{attribute}>{content}</h{level}>\n"]
        start = match.end()
    parts.append(html[start:])
    return "".join(parts)


def _slug(content: str) -> str:
    """GitHub's slug of a heading's text: lower case, spaces to hyphens, no punctuation. The rule
    of mdit-py-plugins' `slugify`, which the reference uses, written again here because importing
    it brings markdown-it-py along (50-80 ms of every command that renders); the comparison
    tests hold the two to the same ids."""
    text = html_unescape(_TAG_RE.sub("", content))
    return _SLUG_DROP_RE.sub("", text.lower().replace(" ", "-"))


def _unique(slug: str, taken: set[str]) -> str:
    """The slug, or the slug with the first free number appended when the page has it already
    (mdit-py-plugins' `unique_slug`, again for the import it would cost)."""
    unique, number = slug, 1
    while unique in taken:
        unique, number = f"{slug}-{number}", number + 1
    taken.add(unique)
    return unique


def _anchor(slug: str) -> str:
    """A heading's id from its slug by GitHub's rule, kept clear of the page's ids, never empty."""
    slug = slug or "section"
    return f"{slug}-section" if slug in PAGE_IDS or PAGE_ID_RE.fullmatch(slug) else slug


def count_words(text: str) -> int:
    """Words in a Markdown text (link targets and markup characters do not count)."""
    text = LINK_TARGET_RE.sub("]", text)
    if not text.isascii():
        return len(WORD_RE.findall(text))
    # Three times faster than the regular expression over the whole text: split, count the
    # plain tokens, and match only the few that hold an apostrophe or a hyphen.
    tokens = text.encode("ascii").translate(_TO_WORD_BYTES).split()
    joined = list(filterfalse(bytes.isalnum, tokens))
    return len(tokens) - len(joined) + len(_ASCII_WORD_RE.findall(b" ".join(joined)))


def reading_minutes(words: int) -> int:
    """Minutes a reader needs, at least one."""
    return max(1, round(words / WORDS_PER_MINUTE))
