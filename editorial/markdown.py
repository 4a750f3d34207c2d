"""Markdown to safe HTML: CommonMark plus tables, strikethrough, footnotes and heading anchors.

The parser and sanitiser are imported on first use, so that commands with nothing to render
start quickly."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from itertools import filterfalse
from typing import Any

# Bump when the rendering rules change, so that cached HTML is rebuilt on the next ingest
# (2: headings shifted below the page's own <h1>; anchors clear of the page's ids).
RENDER_VERSION = "2"
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


@cache
def _renderer() -> Callable[[str], str]:
    import nh3
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
    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag, attrs in _EXTRA_ATTRIBUTES.items():
        attributes.setdefault(tag, set()).update(attrs)
    cleaner = nh3.Cleaner(
        tags=nh3.ALLOWED_TAGS | {"section"},
        attributes=attributes,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer",
    )
    return lambda text: cleaner.clean(parser.render(text))


def _below_title(state: Any) -> None:
    """The page's title is its only <h1>: a body that uses `#` headings has every heading moved
    one level down (an <h6> stays)."""
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    if any(t.tag == "h1" for t in headings):
        for token in headings:
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def _anchor(slug: str) -> str:
    """A heading's id from its slug by GitHub's rule, kept clear of the page's ids, never empty."""
    slug = slug or "section"
    return f"{slug}-section" if slug in PAGE_IDS or PAGE_ID_RE.fullmatch(slug) else slug


def render_markdown(text: str) -> str:
    """Render Markdown and sanitise the result; raw HTML survives only where it is harmless."""
    return _renderer()(text)


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
