"""The one renderer: Jinja templates from the theme, for the live server and the export alike."""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import CodeType
from typing import Any
from urllib.parse import urlsplit

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    Template,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

try:  # MarkupSafe 3 (the lower bound in pyproject.toml) exposes its escaper, returning a str
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - older MarkupSafe: Jinja's own escape is kept
    _escape_inner = None

from editorial.plaindata import CONTROL_RE
from editorial.settings import Settings


@dataclass(frozen=True)
class SiteInfo:
    """Where the site lives: links are built from `base_path`, canonical URLs from `base_url`."""

    title: str
    base_url: str
    base_path: str = field(init=False)

    def __post_init__(self) -> None:
        root = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        object.__setattr__(self, "base_url", root)
        object.__setattr__(self, "base_path", urlsplit(root).path or "/")

    def url(self, path: str = "") -> str:
        """A site-relative link that works under any path prefix."""
        return self.base_path + path.lstrip("/")

    def absolute(self, path: str = "") -> str:
        """The full canonical URL of `path`."""
        return self.base_url + path.lstrip("/")


def piece_path(slug: str) -> str:
    """The site path of a piece."""
    return f"pieces/{slug}/"


def term_path(dimension: str, term: str) -> str:
    """The site path of a term page."""
    return f"{dimension}/{term}/"


def author_path(slug: str) -> str:
    """The site path of an author's page."""
    return f"authors/{slug}/"


@lru_cache(maxsize=65536)
def _date(value: datetime | None, fmt: str = "%-d %B %Y") -> str:
    return value.strftime(fmt) if value else ""


@lru_cache(maxsize=65536)
def iso_moment(value: datetime | None) -> str:
    """RFC 3339 in UTC, as feeds and sitemaps want it. Cut from `isoformat`, which takes half
    the time of `strftime` (the sitemap asks once for every page) and pads the year to four
    digits, as RFC 3339 requires."""
    return value.isoformat()[:19] + "Z" if value else ""


@lru_cache(maxsize=16)
def _compiled_templates(site_key: str) -> BytecodeCache | None:
    """Jinja's cache of compiled templates, in a folder of the user's own under the system's
    temporary folder (Jinja checks its owner and mode). Keyed by the template's name and file
    and checked against a digest of its source, so an edited template is compiled again. A
    command that renders a few pages would otherwise spend more time compiling templates than
    rendering them. Without a safe folder, templates are compiled every time.

    Jinja evaluates a filter on a constant while compiling (`'feed.xml' | url` becomes the link
    itself), and the link filters are bound to one site; so each site (`site_key`) has its own
    compiled templates."""
    try:
        return FileSystemBytecodeCache(pattern=f"editorial-{site_key}-%s.cache")
    except (OSError, RuntimeError):
        return None


def _escape_output(value: Any) -> str:
    """What `{{ value }}` writes when autoescaping: the text markupsafe's `escape` gives, but
    for a plain str without wrapping it in `Markup` (a Python-level constructor, run about a
    hundred times a page). The pieces a template writes are only ever joined into text, so the
    wrapper is never looked at. Markup is written as it is; anything else goes to `escape`."""
    if type(value) is str:
        return _escape_inner(value)
    if type(value) is Markup:  # already safe: `escape` would only copy it
        return value
    return escape(value)


@pass_context
def _card(context: Context, entry: Any) -> Any:
    """`piece | card`: the page's `card` function, as a filter. Jinja calls a filter directly;
    a function called from a template goes through the context's dispatch, which costs more
    than a cached card (a list page shows twenty)."""
    return context["card"](entry)


class _Template(Template):
    """A template whose output expressions escape through `_escape_output`. Jinja compiles
    `{{ value }}` into a call to the name `escape` in the template's own module, which every
    render, block and macro function of the template shares as its globals."""

    @classmethod
    def from_code(
        cls,
        environment: Environment,
        code: CodeType,
        globals: Any,
        uptodate: Any = None,
    ) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        if _escape_inner is not None:
            template.root_render_func.__globals__["escape"] = _escape_output
        return template


class _Environment(Environment):
    """Jinja's environment with `_Template`, and templates that see its globals as one dict,
    copied when a template is loaded (`build_environment` sets every global before that). By
    default a template sees a ChainMap over the environment's own, which Python walks each
    time a page's context is made: 4 us of each, for every page, include and card."""

    template_class = _Template

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def build_environment(settings: Settings, site_key: str, auto_reload: bool = True) -> Environment:
    """One Jinja environment: the site's theme first, then `default`; `default:` names the base.

    `site_key` names the site whose filters the environment will get (see
    `_compiled_templates`). With `auto_reload` (the server's default) an edited template is
    picked up on its next use, at the cost of checking its file's time on every page; an export
    turns that off."""
    dirs = settings.theme_dirs()
    if not dirs:
        raise FileNotFoundError(
            f"no theme '{settings.theme}' or 'default' under {settings.themes_dir.resolve()}"
        )
    default = next(d for d in dirs if d.name == "default")
    loader = ChoiceLoader(
        [
            PrefixLoader({"default": FileSystemLoader(default)}, delimiter=":"),
            FileSystemLoader([str(d) for d in dirs]),
        ]
    )
    env = _Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=auto_reload,
        bytecode_cache=_compiled_templates(site_key),
    )
    env.filters["date"] = _date
    env.globals.update(piece_path=piece_path, term_path=term_path, author_path=author_path)
    env.filters["iso"] = iso_moment
    env.filters["card"] = _card
    return env


def theme_fingerprint(settings: Settings) -> str:
    """A digest of the templates of the themes in use (their static files are copied, and
    fingerprinted, one by one)."""
    digest = hashlib.blake2b(digest_size=12)
    for theme in settings.theme_dirs():
        for file in sorted(theme.rglob("*")):
            if file.is_file() and "static" not in file.relative_to(theme).parts:
                digest.update(file.relative_to(theme).as_posix().encode() + b"\0")
                digest.update(file.read_bytes())
    return digest.hexdigest()


class Renderer:
    """Renders named templates with the site information every page needs.

    Links are made by filters bound to this site (`'feed.xml' | url`, `slug | piece_url`,
    `slug | term_url(dimension)`): Jinja calls a filter directly, where a call such as
    `site.url(...)` goes through its context's dispatch, which costs several times more on pages
    with dozens of links. `site.url` and `site.absolute` still work in a theme."""

    def __init__(
        self, settings: Settings, base_url: str | None = None, *, auto_reload: bool = True
    ) -> None:
        self.site = site = SiteInfo(settings.site_title, base_url or settings.base_url)
        site_key = hashlib.blake2b(site.base_url.encode(), digest_size=8).hexdigest()
        self.env = build_environment(settings, site_key, auto_reload)
        self.env.filters.update(
            url=site.url,
            absolute=site.absolute,
            piece_url=lambda slug: site.url(piece_path(slug)),
            term_url=lambda slug, dimension: site.url(term_path(dimension, slug)),
            author_url=lambda slug: site.url(author_path(slug)),
        )

    def warm(self) -> None:
        """Compile every template now rather than on the first requests (which would each
        compile it at once, one per worker thread)."""
        for name in self.env.list_templates(
            filter_func=lambda name: name.endswith(".html") and ":" not in name
        ):
            self.env.get_template(name)

    def render(self, template: str, **context: Any) -> str:
        """The page `template` renders to with `context`. XML files never carry a character
        XML forbids, even from a store written before such characters were refused: one
        would make a feed unreadable to every reader of it."""
        text = self.env.get_template(template).render(site=self.site, **context)
        return CONTROL_RE.sub("", text) if template.endswith(".xml") else text
