"""One Markdown source file -> validated piece data, or errors a person can act on."""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Any

import yaml

from editorial.clock import OutOfRange, given_moment
from editorial.markdown import count_words, reading_minutes, render_markdown
from editorial.models import DIMENSIONS, FREE_TAG, Status
from editorial.plaindata import CONTROL_RE, control_character, long_number, problems
from editorial.slugs import MAX_SLUG, is_slug, slugify
from editorial.taxonomy import Taxonomy

YAML_FENCE = re.compile(r"\A---[ \t]*\r?\n")
TOML_FENCE = re.compile(r"\A\+\+\+[ \t]*\r?\n")
DIMENSION_ALIASES = {f"{d}s": d for d in ("audience", "stage", "topic", "format")}
STATUSES = {s.value for s in Status}
TOML_POSITION = re.compile(r" \(at line (\d+), column \d+\)")
TAG_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TOO_DEEP = "front matter nested too deeply; flatten it"


class _UnreadableValue(Exception):
    """A YAML value that cannot stand: a scalar its tag cannot make (`!!int abc`, `!!bool maybe`,
    5,000 digits), or a key written twice in one mapping."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class _YAMLLoader(yaml.CSafeLoader):
    """Safe YAML in which an impossible date (2025-13-45) stays text, for the date check to report
    with its field and line instead of failing the whole run, and a value its tag cannot make is
    an error with its line (PyYAML lets ValueError, KeyError and others out of those)."""

    def timestamp_or_text(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping; a key written twice is an error, as TOML has it, rather than the last one
        silently winning (a merge key `<<` may still be overridden)."""
        seen: dict[str, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 2
                if key.value in seen:
                    message = f"'{key.value}' is written twice, first on line {seen[key.value]}"
                    raise _UnreadableValue(message + "; keep one", line)
                seen[key.value] = line
        return super().construct_mapping(node, deep)

    def checked_scalar(self, node: yaml.ScalarNode) -> Any:
        construct, kind = _SCALARS[node.tag]
        try:
            value = construct(self, node)
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            raise _UnreadableValue(_unreadable(node, kind), node.start_mark.line + 2) from exc
        return _written(value, node.value) if type(value) in (int, float) else value


class _Written:
    """A YAML number that remembers how it was written, for a field that takes text: YAML 1.1
    reads `title: 3:10` as 190, `010` as 8 and `1.50` as 1.5, and a title keeps what its writer
    typed (`_as_text`)."""

    written = ""


class _WrittenInt(_Written, int):
    pass


class _WrittenFloat(_Written, float):
    pass


def _written(number: float, text: str) -> float:
    value = _WrittenInt(number) if isinstance(number, int) else _WrittenFloat(number)
    value.written = text
    return value


def _as_text(value: str | int | float) -> str:
    """A text field's value as its writer typed it, numbers included."""
    return getattr(value, "written", "") or str(value)


_SCALARS = {
    "tag:yaml.org,2002:bool": (_YAMLLoader.construct_yaml_bool, "true or false"),
    "tag:yaml.org,2002:int": (_YAMLLoader.construct_yaml_int, "a whole number"),
    "tag:yaml.org,2002:float": (_YAMLLoader.construct_yaml_float, "a number"),
    "tag:yaml.org,2002:timestamp": (_YAMLLoader.timestamp_or_text, "a date"),
}
for _tag in _SCALARS:
    _YAMLLoader.add_constructor(_tag, _YAMLLoader.checked_scalar)


def _unreadable(node: yaml.ScalarNode, kind: str) -> str:
    digits = node.value.lstrip("+-").replace("_", "")
    if digits.isascii() and digits.isdigit() and len(digits) > sys.get_int_max_str_digits():
        return long_number()
    shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
    tag = "!!" + node.tag.rsplit(":", 1)[-1]
    return f"'{shown}' is not {kind}, as its tag {tag} says; correct the value or remove the tag"


@dataclass
class SourceError:
    """One problem in one file: where (line, field) and what to do about it."""

    message: str
    line: int | None = None
    field: str | None = None

    def describe(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        where += [f"field '{self.field}'"] if self.field else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class PieceData:
    """Everything ingest stores for one valid file."""

    slug: str
    title: str
    summary: str
    status: str
    format: str | None
    author: str | None
    assignee: str | None
    publish_at: datetime | None
    expire_at: datetime | None
    due_at: datetime | None
    modified: datetime | None  # the front matter's `lastmod` (or `modified`)
    review_by: date | None
    derived_from: str | None
    body: str
    html: str
    word_count: int
    reading_minutes: int
    front_matter: dict[str, Any]
    terms: list[tuple[str, str]] = field(default_factory=list)


class InvalidSource(Exception):
    """A file that cannot become a piece; carries every problem found in it."""

    def __init__(self, errors: list[SourceError]) -> None:
        super().__init__("; ".join(e.describe() for e in errors))
        self.errors = errors


def parse_source(rel_path: str, raw: bytes, taxonomy: Taxonomy) -> PieceData:
    """Validate and render one file; raises InvalidSource listing everything wrong with it."""
    text = _decode(raw)
    meta, body, lines = _split(text)
    checker = _Checker(meta, lines, taxonomy)
    data = checker.piece(PurePosixPath(rel_path).stem, body)
    if checker.errors:
        raise InvalidSource(checker.errors)
    assert data is not None
    return data


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise InvalidSource(
            [SourceError("the file is empty; a piece needs front matter with a title")]
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InvalidSource(
            [
                SourceError(
                    f"a NUL byte (byte {nul}); save the file as UTF-8 text",
                    line=raw[:nul].count(b"\n") + 1,
                )
            ]
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidSource(
            [SourceError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", line=line)]
        ) from exc
    control = CONTROL_RE.search(text)  # front matter escapes are checked with their fields
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise InvalidSource(
            [SourceError(f"the text {control_character(control.group())}", line=line)]
        )
    return text


def _split(text: str) -> tuple[dict[str, Any], str, dict[str, int]]:
    """Front matter (YAML `---` or TOML `+++`), the body, and the line of each top-level key."""
    for fence, closing, load in ((YAML_FENCE, "---", _load_yaml), (TOML_FENCE, "+++", _load_toml)):
        start = fence.match(text)
        if not start:
            continue
        closing_line = re.compile(rf"^{re.escape(closing)}[ \t]*\r?$", re.MULTILINE)
        end = closing_line.search(text, start.end())
        if end is None:
            raise InvalidSource(
                [
                    SourceError(
                        f"front matter opened with '{closing}' on line 1 "
                        f"is never closed; add a '{closing}' line after it"
                    )
                ]
            )
        block = text[start.end() : end.start()]
        meta, lines = load(block), _key_lines(block)
        errors = [SourceError(problem, lines.get(key), key) for key, problem in problems(meta)]
        if errors:
            raise InvalidSource(errors)
        return meta, text[end.end() :].lstrip("\r\n"), lines
    raise InvalidSource(
        [
            SourceError(
                "no front matter; start the file with a '---' line, then 'title: …', then '---'",
                line=1,
            )
        ]
    )


def _load_yaml(block: str) -> dict[str, Any]:
    try:
        meta = yaml.load(block, Loader=_YAMLLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 2 if exc.problem_mark else None
        raise InvalidSource(
            [SourceError(f"malformed YAML front matter: {exc.problem}", line=line)]
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidSource([SourceError(f"malformed YAML front matter: {exc}")]) from exc
    except _UnreadableValue as exc:
        raise InvalidSource([SourceError(exc.message, exc.line, _key_at(block, exc.line))]) from exc
    except RecursionError:
        raise InvalidSource([SourceError(TOO_DEEP, line=2)]) from None
    return _mapping(meta)


def _load_toml(block: str) -> dict[str, Any]:
    try:
        return _mapping(tomllib.loads(block))
    except tomllib.TOMLDecodeError as exc:
        position = TOML_POSITION.search(str(exc))
        line = int(position.group(1)) + 1 if position else None  # +1: the block starts on line 2
        problem = TOML_POSITION.sub("", str(exc))
        raise InvalidSource(
            [SourceError(f"malformed TOML front matter: {problem}", line=line)]
        ) from exc
    except ValueError as exc:  # tomllib lets out only int()'s: a number over the digit limit
        line = _long_number_line(block)
        raise InvalidSource([SourceError(long_number(), line, _key_at(block, line))]) from exc
    except RecursionError:
        raise InvalidSource([SourceError(TOO_DEEP, line=2)]) from None


def _mapping(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidSource(
            [
                SourceError(
                    f"front matter must be 'key: value' lines, found a {type(meta).__name__}",
                    line=2,
                )
            ]
        )
    try:
        return {str(k): v for k, v in meta.items()}
    except ValueError:  # a key that is a number too long to write out
        raise InvalidSource([SourceError(f"a key is {long_number()}")]) from None


def _key_lines(block: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for number, line in enumerate(block.splitlines(), start=2):
        match = re.match(r"^([A-Za-z_][\w-]*)\s*[:=]", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _key_at(block: str, line: int | None) -> str | None:
    """The top-level key written on `line` of the file, if any."""
    return next((key for key, number in _key_lines(block).items() if number == line), None)


def _long_number_line(block: str) -> int | None:
    """The first line holding a run of digits over the interpreter's limit on digits."""
    limit = sys.get_int_max_str_digits()
    for number, line in enumerate(block.splitlines(), start=2):
        if any(len(run.replace("_", "")) > limit for run in re.findall(r"[0-9_]+", line)):
            return number
    return None


class _Checker:
    """Reads each field, collecting every error instead of stopping at the first."""

    def __init__(self, meta: dict[str, Any], lines: dict[str, int], taxonomy: Taxonomy) -> None:
        self.meta = meta
        self.lines = lines
        self.taxonomy = taxonomy
        self.errors: list[SourceError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(SourceError(message, self.lines.get(key), key))

    def piece(self, stem: str, body: str) -> PieceData | None:
        title = self.text("title", required=True)
        words = count_words(body)
        terms = self.terms()
        formats = [t for d, t in terms if d == "format"]
        data = PieceData(
            slug=self.slug(stem),
            title=title or "",
            summary=self.text("summary") or self.text("description") or "",
            status=self.status(),
            format=formats[0] if formats else None,
            author=self.author(),
            assignee=self.assignee(),
            publish_at=self.moment("publishDate") or self.moment("date"),
            expire_at=self.moment("expiryDate"),
            due_at=self.moment("due"),
            modified=self.moment("lastmod") or self.moment("modified"),
            review_by=self.day("review_by"),
            derived_from=self.reference("derived_from"),
            body=body,
            html="",
            word_count=words,
            reading_minutes=reading_minutes(words),
            front_matter={},
            terms=terms,
        )
        # After the checks, which put back the numbers that text fields took as written.
        data.front_matter = _json_safe(self.meta)
        if data.derived_from and data.derived_from == data.slug:
            self.fail("derived_from", "a piece cannot be a version of itself; name its core piece")
        self.aliases()
        if self.errors:
            return None
        data.html = render_markdown(body)
        return data

    def text(self, key: str, required: bool = False) -> str | None:
        """The field's text, stripped; None when it is absent or only blank space."""
        value = self.meta.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, str | int | float)
        ):
            self.fail(key, f"expected text, got a {_kind(value)}")
            return None
        if isinstance(value, _Written):
            self.meta[key] = value.written  # the stored front matter says what the file says
        text = "" if value is None else _as_text(value).strip()
        if not text and required:
            self.fail(key, _required(key, blank=key in self.meta))
        return text or None

    def slug(self, stem: str) -> str:
        given = self.text("slug")
        if given is None:
            derived = slugify(stem)
            if not derived:
                self.fail(
                    "slug", f"cannot make a URL slug from the file name '{stem}'; add 'slug: …'"
                )
            elif len(derived) > MAX_SLUG:
                self.fail(
                    "slug", f"the file name makes a slug over {MAX_SLUG} characters; add 'slug: …'"
                )
            return derived
        if not is_slug(given):
            self.fail(
                "slug",
                f"'{given}' is not URL-safe (lower-case letters, digits and hyphens); "
                + _slug_hint(given),
            )
        elif len(given) > MAX_SLUG:
            self.fail("slug", f"the slug is over {MAX_SLUG} characters; shorten it")
        return given

    def reference(self, key: str) -> str | None:
        value = self.text(key)
        if value is not None and (not is_slug(value) or len(value) > MAX_SLUG):
            self.fail(key, f"'{value}' is not a piece slug; " + _slug_hint(value))
        return value

    def aliases(self) -> None:
        """Old addresses of the piece: a path or a list of paths (the export checks each)."""
        value = self.meta.get("aliases")
        items = value if isinstance(value, list) else [] if value is None else [value]
        wrong = next((item for item in items if not isinstance(item, str)), None)
        if wrong is not None:
            self.fail("aliases", f"expected a path or a list of paths, got a {_kind(wrong)}")

    def status(self) -> str:
        draft = self.meta.get("draft")
        if draft is not None and not isinstance(draft, bool):
            self.fail("draft", f"expected true or false, got {draft!r}")
        status = self.text("status")
        if status is None:
            return Status.DRAFT if draft is True else Status.PUBLISHED
        if status.lower() not in STATUSES:
            self.fail("status", f"unknown status '{status}'; use one of {', '.join(Status)}")
        elif draft is True and status.lower() in (Status.PUBLISHED, Status.SCHEDULED):
            # A file its writer marked a draft is never published by a status line beside it.
            self.fail("draft", f"'draft: true' and 'status: {status}' disagree; remove one")
        return status.lower()

    def assignee(self) -> str | None:
        """The writer's e-mail address in lower case, the form sign-in stores addresses in:
        written `Ada@Example.com`, it would match no one, and the writer would not see the piece."""
        address = self.text("assignee")
        return address.lower() if address else None

    def author(self) -> str | None:
        authors = self.meta.get("authors")
        if authors is not None and self.meta.get("author") is None:
            names = authors if isinstance(authors, list) else [authors]
            if not all(isinstance(n, str) for n in names):
                self.fail("authors", "expected a list of names")
                return None
            return ", ".join(name.strip() for name in names if name.strip()) or None
        return self.text("author")

    def moment(self, key: str) -> datetime | None:
        value = self.meta.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, datetime | date | str):
            try:
                return given_moment(value)
            except OutOfRange as exc:
                self.fail(key, f"the date {exc}")
                return None
            except ValueError:
                pass
        self.fail(key, f"bad date {value!r}; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS")
        return None

    def day(self, key: str) -> date | None:
        moment = self.moment(key)
        return moment.date() if moment else None

    def terms(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for key, value in self.meta.items():
            dimension = DIMENSION_ALIASES.get(key, key)
            if dimension in DIMENSIONS:
                found += [(dimension, t) for t in self.declared(key, dimension, value)]
            elif key in ("tags", "categories"):
                found += self.tags(key, value)
        return list(dict.fromkeys(found))

    def values(self, key: str, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, bool) or not isinstance(v, str | int | float) for v in items):
            self.fail(key, f"expected a term or a list of terms, got {_kind(value)}")
            return []
        texts = list(map(_as_text, items))
        if any(isinstance(v, _Written) for v in items):
            self.meta[key] = texts if isinstance(value, list) else texts[0]
        return [text for text in texts if text.strip()]

    def declared(self, key: str, dimension: str, value: Any) -> list[str]:
        slugs = []
        for item in self.values(key, value):
            slug = self.taxonomy.resolve(dimension, item)
            if slug is None:
                closest = self.taxonomy.closest(dimension, item)
                hint = f"; did you mean '{closest}'?" if closest else "; the taxonomy declares none"
                self.fail(
                    key, f"unknown {dimension} '{item}'{hint} (declare new terms in taxonomy.yaml)"
                )
            else:
                slugs.append(slug)
        return slugs

    def tags(self, key: str, value: Any) -> list[tuple[str, str]]:
        found = []
        for item in self.values(key, value):
            matches = [(d, s) for d in DIMENSIONS if (s := self.taxonomy.resolve(d, item))]
            if len(matches) == 1:
                found += matches
                continue
            tag = slugify(item) or item  # kept as written when it has no ASCII letters or digits
            if TAG_CONTROL_RE.search(tag):  # the catalog joins terms with control characters
                self.fail(key, f"the tag {item!r} holds control characters")
            elif len(tag) > MAX_SLUG:
                self.fail(key, f"the tag {item[:40]!r}… is over {MAX_SLUG} characters")
            else:
                found.append((FREE_TAG, tag))
        return found


def _required(key: str, blank: bool) -> str:
    if blank:
        return f"'{key}' is required and cannot be blank; fill it in"
    return f"'{key}' is required; add a line '{key}: …' to the front matter"


def _slug_hint(given: str) -> str:
    """A slug made from what was written, or what a slug is made of when nothing can be."""
    suggestion = slugify(given)[:MAX_SLUG]
    return f"try '{suggestion}'" if suggestion else "write one with ASCII letters or digits"


def _kind(value: Any) -> str:
    kinds = {dict: "mapping", list: "list", bool: "true/false", int: "number", float: "number"}
    return next((kinds[kind] for kind in kinds if isinstance(value, kind)), type(value).__name__)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, _Written):  # stored as the plain number it stands for
        return int(value) if isinstance(value, int) else float(value)
    return value
