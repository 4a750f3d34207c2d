"""URL-safe slugs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

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


@lru_cache(maxsize=4096)
def author_slug(author: str) -> str:
    """The slug of an author's name, which names their page; spellings that differ only in case
    or punctuation share it. A few authors write thousands of pieces: each name is made a slug
    once. A name with no Latin letters or digits (李雷) makes no slug, so it is named by a
    digest of itself; a very long one is cut to a length every file system takes."""
    slug = slugify(author)[:MAX_SLUG].strip("-")
    return slug or "author-" + hashlib.blake2b(author.encode(), digest_size=4).hexdigest()
