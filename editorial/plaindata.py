"""Front matter as plain data: what YAML or TOML may produce but a store cannot keep.

YAML anchors and aliases make shared or self-referring values (a small file can then expand to
billions of items when written out); `!!binary` and `!!set` make bytes and sets; both languages
spell NaN and infinity, which JSON cannot hold, and whole numbers too long for Python to write
out in decimal (JSON again: over `sys.get_int_max_str_digits()` digits, as a hex literal can give);
an escape can put a NUL character into text, which PostgreSQL refuses, or another control
character, which no feed can carry. Each is reported against its field instead of failing later."""

from __future__ import annotations

import math
import re
import sys
from datetime import date, datetime, time
from typing import Any

MAX_DEPTH = 32
# The characters XML 1.0 forbids: the C0 controls other than tab, line feed and carriage return,
# and U+FFFE and U+FFFF. One in a title would make every feed listing the piece unreadable, and
# HTML counts each as an error. They come in through escapes ("\v" in YAML, "\u000b" in JSON).
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ALIAS = "YAML anchors and aliases (& and *) are not supported here; write the value out in full"


def problems(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, what is wrong) for each top-level field whose value is not plain data."""
    found = []
    seen: set[int] = set()
    for key, value in meta.items():
        problem = _first_problem(value, seen)
        if problem:
            found.append((str(key), problem))
    return found


def _first_problem(value: Any, seen: set[int]) -> str | None:
    """Walks the value without recursion, so depth cannot exhaust the Python stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if id(item) in seen:
                return ALIAS
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep; flatten the value"
            seen.add(id(item))
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            continue
        problem = _scalar_problem(item)
        if problem:
            return problem
    return None


def _scalar_problem(item: Any) -> str | None:
    if isinstance(item, str):
        return control_character(item)
    if isinstance(item, float) and not math.isfinite(item):
        return "NaN and infinity are not numbers a piece can keep; write a number or text"
    if isinstance(item, int) and not isinstance(item, bool):
        return None if _writable(item) else long_number()
    if item is None or isinstance(item, bool | float | datetime | date | time):
        return None
    kind = {bytes: "binary data (!!binary)", set: "a set (!!set)", tuple: "a pair list"}
    return f"{kind.get(type(item), type(item).__name__)} is not supported; use text or a list"


def long_number() -> str:
    """What is wrong with a whole number too long to be written out in decimal."""
    limit = sys.get_int_max_str_digits()
    return (
        f"a number of more than {limit} digits, which cannot be stored; "
        "put it in quotes to keep it as text"
    )


def _writable(number: int) -> bool:
    try:
        str(number)
    except ValueError:  # over the interpreter's limit on digits
        return False
    return True


def control_character(text: str) -> str | None:
    """What is wrong with `text` if it holds a character that XML forbids, else None."""
    found = CONTROL_RE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\0); remove it"
    code = f"U+{ord(found.group()):04X}"
    return f"contains a control character ({code}), which pages and feeds cannot carry; remove it"
