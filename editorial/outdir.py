"""The export folder (OUT): the one writer every file goes through, the staging folder files
wait in until the whole export is written, and the manifest that remembers what each file was
made from and which links it holds."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Of the manifest and of the pages' fingerprints: bumped when pages made from the same store
# change (4: feeds, sitemap and dateModified give `modified`; 5: an author name with no Latin
# letters gets a page, feeds drop characters XML forbids; 6: the manifest holds the stray links
# of pieces' bodies), so that the next export rewrites every file instead of finding nothing
# changed.
EXPORT_VERSION = "6"
MANIFEST = ".editorial-export.json"
STAGING = ".editorial-staging"


class ExportError(Exception):
    """An export that cannot be written as asked."""


class Writer:
    """The only way files reach OUT: one file per path, never outside OUT."""

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self.paths: set[str] = set()

    def reserve(self, rel: str) -> None:
        """Claim `rel` for one file; refuses a second claim and any path that leaves OUT."""
        parts = rel.split("/")  # an empty part is a leading, doubled or trailing slash
        unsafe = parts[0] == STAGING or any(part in ("", ".", "..") for part in parts)
        if unsafe or "\\" in rel or "\x00" in rel:
            raise ExportError(f"refusing to write '{rel}': the path must stay inside the export")
        if rel in self.paths:
            raise ExportError(f"two files want the path '{rel}'; each path takes one file")
        self.paths.add(rel)


class FileWriter:
    """Writes files under OUT atomically (a reader never sees half a file) and never through a
    link that leads out of OUT. Folders already checked are remembered; in a folder this writer
    has just created no reader can be waiting, so files there are written in place."""

    def __init__(self, out: Path) -> None:
        self.out = str(out)
        self.safe: set[str] = {self.out}
        self.created: set[str] = set()

    def write(self, rel: str, data: bytes) -> None:
        target = os.path.join(self.out, rel)
        folder = os.path.dirname(target)
        self._folder(folder)
        if folder in self.created:
            self._write(target, data, os.O_EXCL)
            return
        temporary = f"{target}.tmp{os.getpid()}"
        self._write(temporary, data, os.O_TRUNC)
        os.replace(temporary, target)

    @staticmethod
    def _write(path: str, data: bytes, mode: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | mode, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def _folder(self, folder: str) -> None:
        if folder in self.safe:
            return
        self._folder(os.path.dirname(folder))
        try:
            os.mkdir(folder)
            self.created.add(folder)
        except FileExistsError:
            real = os.path.realpath(folder)
            if real != self.out and not real.startswith(self.out + os.sep):
                raise ExportError(
                    f"refusing to write into '{folder}': it leads outside the export"
                ) from None
        self.safe.add(folder)


@dataclass
class Manifest:
    """What the last export wrote: each file's fingerprint and links, the store's stamp, and
    the related-pieces ranking with the key of its inputs (for the next export to reuse).

    Pages share most of their links, so each distinct link is kept once, in `links`, and a file
    holds its links as positions there, written as one text ("3 17 42"). An export decodes them
    only to report broken links; unchanged files keep their text as it was, and new links are
    added at the end of the table, in the order the files are made (so a full export's table is
    the same every time). The table is rebuilt (sorted, without links no file holds) whenever
    it was decoded anyway, and when it grows past twice the files.

    On disk: a first line with the format and a digest of the rest, then JSON. A manifest whose
    digest does not match was damaged or edited, and counts as none (the next export is full)."""

    stamp: list[str] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # path -> [fingerprint, links]
    links: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    broken_links: list[dict[str, str]] = field(default_factory=list)
    related: dict[str, Any] = field(default_factory=dict)
    _position: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def read(cls, out: Path) -> Manifest:
        """The manifest in `out`; an empty one when there is none or it cannot be trusted."""
        try:
            head, _, body = (out / MANIFEST).read_bytes().partition(b"\n")
            if head != _head(body):
                return cls()
            data = json.loads(body)
            if not (isinstance(data["files"], dict) and isinstance(data["links"], list)):
                return cls()
            related = data["related"] if isinstance(data["related"], dict) else {}
            return cls(
                data["stamp"],
                data["files"],
                data["links"],
                data["errors"],
                data["broken_links"],
                related,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def current(self, out: Path, path: str, fingerprint: str) -> bool:
        """Whether the file at `path` is on disk as made from inputs with `fingerprint`."""
        known = self.files.get(path)
        return bool(known) and known[0] == fingerprint and os.path.isfile(f"{out}/{path}")

    def complete(self, out: Path) -> bool:
        """Whether every file this manifest lists is still on disk."""
        root = str(out) + os.sep
        return bool(self.files) and all(os.path.isfile(root + path) for path in self.files)

    def encode(self, links: list[str]) -> str:
        """`links` as positions in the table; links it lacks are added at its end."""
        if self._position is None:
            self._position = {link: i for i, link in enumerate(self.links)}
        position = self._position
        for link in links:
            if link not in position:
                position[link] = len(self.links)
                self.links.append(link)
        return " ".join([str(position[link]) for link in links])

    def decoded(self) -> dict[str, list[str]]:
        """Every file's links, as text."""
        table = self.links
        return {
            path: [table[int(i)] for i in code.split()] for path, (_, code) in self.files.items()
        }

    def finish(self, paths: set[str]) -> None:
        """Find the broken links, those whose target is not among `paths`: each distinct link
        is looked up once, and files are decoded only when one is missing. The table is rebuilt
        whenever they were decoded, and when it has grown past twice the files."""
        missing = {link for link in self.links if _broken(link, paths)}
        if not missing and len(self.links) <= 2 * len(self.files) + 64:
            self.broken_links = []
            return
        decoded = self.decoded()
        self.broken_links = [
            _broken_entry(page, link)
            for page, links in sorted(decoded.items())
            if not missing.isdisjoint(links)
            for link in links
            if link in missing
        ]
        self.links, self._position = sorted(set().union(*decoded.values())), None
        for path, links in decoded.items():
            self.files[path][1] = self.encode(links)

    def write(self, out: Path) -> None:
        body = {
            "stamp": self.stamp,
            "files": self.files,
            "links": self.links,
            "errors": self.errors,
            "broken_links": self.broken_links,
            "related": self.related,
        }
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        FileWriter(out).write(MANIFEST, _head(data) + b"\n" + data)


def _head(body: bytes) -> bytes:
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    return f"editorial-export {EXPORT_VERSION} {digest}".encode()


def fresh_staging(out: Path) -> Path:
    """An empty staging folder in OUT; one left by a killed export is cleared first."""
    staging = out / STAGING
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        kind = "a link" if staging.is_symlink() else "not a folder"
        raise ExportError(f"refusing to use '{staging}': it is {kind}; remove it")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def commit(out: Path) -> None:
    """Move everything staged into place, then drop the staging folder. Renames only: no new
    space is needed. A staged folder that OUT does not have yet moves whole, in one rename, so a
    first export moves a few folders rather than creating, filling and removing ten thousand."""
    files = FileWriter(out)
    staging = os.path.join(files.out, STAGING)
    _move(staging, files.out, files)
    shutil.rmtree(staging)


def _move(source: str, target: str, files: FileWriter) -> None:
    """Move the contents of staged folder `source` into `target`, a folder of OUT."""
    files._folder(target)  # made if missing; refused if it leads out of OUT
    with os.scandir(source) as entries:
        for entry in entries:
            destination = os.path.join(target, entry.name)
            if not entry.is_dir(follow_symlinks=False):
                os.replace(entry.path, destination)
            elif os.path.lexists(destination):
                _move(entry.path, destination, files)
            else:
                os.rename(entry.path, destination)


def remove_stale(out: Path, paths: set[str]) -> int:
    """Delete files an earlier export wrote that no longer belong, and folders left empty."""
    removed = 0
    for rel in sorted(paths):
        target = (out / rel).resolve()
        if target.is_relative_to(out) and target.is_file():
            target.unlink()
            removed += 1
            parent = target.parent
            while parent != out and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return removed


def link_pattern(base_path: str) -> re.Pattern[bytes]:
    """Finds the targets of `href` and `src` attributes that start with the site's path; the
    target is cut at a fragment or query. The pattern starts with a literal, which the regex
    engine finds fast, and looks behind for the attribute's name only there (an alternation in
    front would be tried at every position)."""
    prefix = re.escape(base_path.encode())
    return re.compile(rb'="(?:(?<=href=")|(?<=src="))' + prefix + rb'([^"#?]*)')


def page_links(pattern: re.Pattern[bytes], data: bytes) -> list[str]:
    """The site-internal link targets in a page, as paths inside the export, found by a
    `link_pattern`."""
    return sorted(link.decode("utf-8") for link in set(pattern.findall(data)))


def stray_pattern(base_path: str) -> re.Pattern[str] | None:
    """For a site under a path prefix, finds the root-relative link targets in a piece's body
    that miss the prefix (`/pieces/a/` on a site at `/insights/`), kept with their leading `/`;
    None for a site at the root, where every root-relative link is the site's own."""
    if base_path == "/":
        return None
    inside = re.escape(base_path[1:])
    return re.compile(r'="(?:(?<=href=")|(?<=src="))(/(?!/|' + inside + r')[^"#?]*)')


def stray_links(pattern: re.Pattern[str] | None, body: str) -> list[str]:
    """The stray links a `stray_pattern` finds in a piece's body HTML."""
    return sorted(set(pattern.findall(body))) if pattern else []


def _broken(link: str, paths: set[str]) -> bool:
    """A link inside the site is broken when the export lacks its target. A stray link (one
    with its leading `/`) is broken when, with the path prefix, it would name one of the
    export's files in a folder: the writer meant this site's page (a link to the root or to
    a file there may well be the rest of the corporate site's)."""
    if link.startswith("/"):
        rest = link[1:]
        return "/" in rest.rstrip("/") and _target(rest) in paths
    return _target(link) not in paths


def _broken_entry(page: str, link: str) -> dict[str, str]:
    """A broken link as reported; a stray one with the link to write instead, relative to the
    page, which works under any path prefix."""
    if not link.startswith("/"):
        return {"page": page, "link": link}
    fix = posixpath.relpath(link[1:], posixpath.dirname(page))
    return {"page": page, "link": link, "fix": fix + "/" if link.endswith("/") else fix}


def _target(link: str) -> str:
    return link + "index.html" if link.endswith("/") or not link else link
