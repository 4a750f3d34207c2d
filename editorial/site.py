"""Every public page, rendered from a Catalog by the one renderer (live server and export alike).

A method returns None where the page does not exist: a reader gets a 404, never a 403."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from editorial.catalog import Catalog, Entry
from editorial.feedback import Widget
from editorial.models import DIMENSIONS, FREE_TAG
from editorial.render import Renderer, author_path, iso_moment, piece_path, term_path
from editorial.taxonomy import Taxonomy, Term

FEED_SIZE = 20
SITEMAP_SIZE = 50_000  # the most addresses one sitemap file may list (sitemaps.org)


@dataclass
class Listing:
    """One page of a list of entries."""

    entries: list[Entry]
    page: int
    pages: int
    path: str  # the list's first page, e.g. "topic/cloud/"


class Pages:
    """Renders the public site's pages and files."""

    def __init__(self, renderer: Renderer, taxonomy: Taxonomy, per_page: int = 20) -> None:
        self.renderer = renderer
        self.taxonomy = taxonomy
        self.per_page = per_page
        self._cards: dict[str, Markup] = {}

    def _render(self, template: str, **context: Any) -> str:
        return self.renderer.render(
            template,
            taxonomy=self.taxonomy,
            label=self.label,
            card=self.card,
            stages=self.taxonomy.terms("stage"),
            **context,
        )

    def card(self, entry: Entry) -> Markup:
        """An entry as every list shows it; rendered once, then reused by each list."""
        key = entry.signature
        if key not in self._cards:
            self._cards[key] = Markup(self._render("_card.html", piece=entry))
        return self._cards[key]

    def label(self, dimension: str, slug: str) -> Term:
        """The declared term, or a stand-in that shows the slug."""
        return self.taxonomy.term(dimension, slug) or Term(slug, slug)

    def page_count(self, entries: list[Entry]) -> int:
        return max(1, math.ceil(len(entries) / self.per_page))

    def listing(self, entries: list[Entry], page: int, path: str) -> Listing | None:
        """Page `page` of `entries`; None when that page does not exist."""
        pages = self.page_count(entries)
        if not 1 <= page <= pages:
            return None
        start = (page - 1) * self.per_page
        return Listing(entries[start : start + self.per_page], page, pages, path)

    def home(self, catalog: Catalog, page: int = 1) -> str | None:
        """The latest published pieces."""
        listing = self.listing(catalog.entries, page, "")
        return listing and self._render("home.html", listing=listing, path=_paged("", page))

    def term(self, catalog: Catalog, dimension: str, slug: str, page: int = 1) -> str | None:
        """The pieces of one declared term."""
        term = self.taxonomy.term(dimension, slug) if dimension in DIMENSIONS else None
        base = term_path(dimension, slug)
        listing = term and self.listing(catalog.by_term.get((dimension, slug), []), page, base)
        return listing and self._render(
            "term.html", listing=listing, dimension=dimension, term=term, path=_paged(base, page)
        )

    def author(self, catalog: Catalog, slug: str, page: int = 1) -> str | None:
        """The pieces of one author."""
        entries = catalog.by_author.get(slug)
        base = author_path(slug)
        listing = entries and self.listing(entries, page, base)
        return listing and self._render(
            "author.html", listing=listing, author=entries[0].author, path=_paged(base, page)
        )

    def piece(
        self,
        catalog: Catalog,
        entry: Entry,
        html: str,
        feedback: Widget | None = None,
        related: list[Entry] | None = None,
    ) -> str:
        """A public piece's page, with related pieces (the catalog's ranking unless `related`
        is given), its lineage and its reader feedback."""
        terms = {
            d: [self.label(d, t) for t in entry.terms[d]]
            for d in (*DIMENSIONS, FREE_TAG)
            if entry.terms.get(d)
        }
        path = piece_path(entry.slug)
        return self._render(
            "piece.html",
            piece=entry,
            article=_article(entry, self.renderer.site.absolute(path)),
            html=html,
            terms=terms,
            core=catalog.core(entry),
            variants=catalog.variants.get(entry.slug, []),
            related=catalog.related(entry) if related is None else related,
            path=path,
            feedback=feedback,
        )

    def feed(
        self, catalog: Catalog, dimension: str | None = None, slug: str | None = None
    ) -> str | None:
        """The Atom feed of the site, or of one declared term."""
        if dimension is None or slug is None:
            entries, title, path = catalog.entries, self.renderer.site.title, ""
        else:
            term = self.taxonomy.term(dimension, slug) if dimension in DIMENSIONS else None
            if term is None:
                return None
            entries = catalog.by_term.get((dimension, slug), [])
            title, path = f"{term.label} · {self.renderer.site.title}", term_path(dimension, slug)
        latest = entries[:FEED_SIZE]
        updated = max((e.modified for e in latest), default=None)
        return self._render("feed.xml", entries=latest, title=title, path=path, updated=updated)

    def sitemap(self, catalog: Catalog, part: int | None = None) -> str | None:
        """Every public page with its last change. A site with more pages than one sitemap
        may list gets `sitemap.xml` as an index of `sitemap-1.xml`, `sitemap-2.xml` …; `part`
        asks for one of those (None where there is no such part)."""
        lists = self._sitemap_lists(catalog)
        pages = [(path, max(e.modified for e in es)) for path, es in lists]
        pages += [(piece_path(e.slug), e.modified) for e in catalog.entries]
        parts = [
            pages[start : start + SITEMAP_SIZE] for start in range(0, len(pages), SITEMAP_SIZE)
        ]
        if len(parts) < 2:
            return self._render("sitemap.xml", pages=pages) if part is None else None
        if part is None:
            index = [(f"sitemap-{n}.xml", max(m for _, m in p)) for n, p in enumerate(parts, 1)]
            return self._render("sitemap_index.xml", sitemaps=index)
        return (
            self._render("sitemap.xml", pages=parts[part - 1]) if 0 < part <= len(parts) else None
        )

    def sitemap_parts(self, catalog: Catalog) -> int:
        """How many `sitemap-N.xml` files the sitemap index names (0: one sitemap lists all)."""
        count = len(self._sitemap_lists(catalog)) + len(catalog.entries)
        return 0 if count <= SITEMAP_SIZE else math.ceil(count / SITEMAP_SIZE)

    def _sitemap_lists(self, catalog: Catalog) -> list[tuple[str, list[Entry]]]:
        """The list pages the sitemap names: home, each declared term's page, each author's."""
        lists = [("", catalog.entries)]
        lists += [
            (term_path(d, t), es)
            for (d, t), es in sorted(catalog.by_term.items())
            if d in DIMENSIONS and self.taxonomy.term(d, t)
        ]
        lists += [(author_path(a), es) for a, es in sorted(catalog.by_author.items())]
        return [(path, es) for path, es in lists if es]

    def robots(self) -> str:
        """robots.txt: everything public may be crawled; the dashboard and API may not."""
        return self._render("robots.txt")

    def not_found(self) -> str:
        """The page for anything that does not exist or is not public: kept out of search
        indexes, and with no canonical address of its own."""
        return self._render("404.html", path="404.html", noindex=True)

    def redirect(self, alias: str, target: str) -> str:
        """A page at an old address that sends readers to the new one."""
        return self._render("redirect.html", path=alias, target=target)


def _article(entry: Entry, url: str) -> dict[str, Any]:
    """A piece as a schema.org Article, for JSON-LD. What the piece lacks (an author, a summary,
    a date) is left out rather than given as null or "". Built here rather than in the
    template, where it took a fifth of a piece page's render time."""
    article = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": entry.title,
        "description": entry.summary,
        "author": {"@type": "Person", "name": entry.author} if entry.author else None,
        "datePublished": iso_moment(entry.publish_at),
        "dateModified": iso_moment(entry.modified),
        "mainEntityOfPage": url,
        "url": url,
    }
    return {key: value for key, value in article.items() if value}


def _paged(base: str, page: int) -> str:
    return base if page == 1 else f"{base}page/{page}/"
