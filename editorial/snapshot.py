"""A piece as a Markdown file: the front matter that ingest reads back into the same fields.

Revisions made through the service snapshot this form, `editorial export markdown` writes it,
and diffs compare it, so that what an editor sees changed is what a file would show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml

from editorial.clock import to_utc
from editorial.models import DIMENSIONS, FREE_TAG, Piece

# Keys the piece's own fields decide; anything else in the stored front matter is kept as is.
FIELD_KEYS = (
    "title",
    "slug",
    "status",
    "summary",
    "author",
    "assignee",
    "date",
    "due",
    "expiryDate",
    "review_by",
    "derived_from",
    "lastmod",
)
# Other spellings ingest understands for the same fields; dropped so they cannot contradict.
SPELLINGS = {
    "description",
    "modified",
    "publishDate",
    "draft",
    "authors",
    "tags",
    "categories",
    *(f"{d}s" for d in DIMENSIONS),
}
BRIEF = "brief"


def front_matter_of(piece: Piece, terms: dict[str, list[str]]) -> dict[str, Any]:
    """The canonical front matter of `piece` with its `terms` by dimension."""
    meta: dict[str, Any] = {"title": piece.title, "slug": piece.slug, "status": piece.status}
    values = {
        "summary": piece.summary or None,
        "author": piece.author,
        "assignee": piece.assignee,
        "date": _moment(piece.publish_at),
        "due": _moment(piece.due_at),
        "expiryDate": _moment(piece.expire_at),
        "review_by": piece.review_by.isoformat() if piece.review_by else None,
        "derived_from": piece.derived_from,
        "lastmod": _moment(piece.modified_at),
    }
    meta |= {key: value for key, value in values.items() if value is not None}
    for dimension in (*DIMENSIONS, FREE_TAG):
        found = sorted(terms.get(dimension, []))
        if found:
            meta["tags" if dimension == FREE_TAG else dimension] = (
                found[0] if len(found) == 1 and dimension != FREE_TAG else found
            )
    taken = set(FIELD_KEYS) | SPELLINGS | set(DIMENSIONS)
    meta |= {k: v for k, v in (piece.front_matter or {}).items() if k not in taken}
    return meta


def _moment(value: datetime | None) -> str | None:
    return to_utc(value).isoformat() if value else None


def as_markdown(front_matter: dict[str, Any], body: str) -> str:
    """A Markdown file: YAML front matter between `---` lines, a blank line, then the body."""
    block = yaml.safe_dump(
        _plain(front_matter), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return f"---\n{block}---\n\n{body}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
