"""Markdown to safe HTML: CommonMark plus tables, strikethrough, footnotes and heading anchors.

The parser and sanitiser are imported on first use, so that commands with nothing to render
start quickly."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

# Bump when the rendering rules change, so that cached HTML is rebuilt on the next ingest.
RENDER_VERSION = "1"
WORDS_PER_MINUTE = 230
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")

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
    from mdit_py_plugins.footnote import footnote_plugin

    parser = (
        MarkdownIt("commonmark", {"html": True, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
        .use(anchors_plugin, min_level=2, max_level=4)
    )
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


def render_markdown(text: str) -> str:
    """Render Markdown and sanitise the result; raw HTML survives only where it is harmless."""
    return _renderer()(text)


def count_words(text: str) -> int:
    """Words in a Markdown text (link targets and markup characters do not count)."""
    return len(WORD_RE.findall(re.sub(r"\]\([^)]*\)", "]", text)))


def reading_minutes(words: int) -> int:
    """Minutes a reader needs, at least one."""
    return max(1, round(words / WORDS_PER_MINUTE))
