"""URL-safe slugs."""

from __future__ import annotations

import re
import unicodedata

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The longest slug or term the store keeps (its columns are VARCHAR(200)); a path segment that
# long is still far inside what file systems allow (255 bytes).
MAX_SLUG = 200


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: 'Line of Business' -> 'line-of-business'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def is_slug(text: str) -> bool:
    """Whether `text` is already a URL-safe slug."""
    return bool(SLUG_RE.match(text))
