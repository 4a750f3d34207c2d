"""The export folder (OUT): the one writer every file goes through, the staging folder files
wait in until the whole export is written, and the manifest that remembers what each file was
made from and which links it holds."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPORT_VERSION = "2"  # of the manifest and of the pages' fingerprints
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
    the related-pieces ranking with the key of its inputs (for the next export to reuse)."""

    stamp: list[str] = field(default_factory=list)
    files: dict[str, list] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    broken_links: list[dict[str, str]] = field(default_factory=list)
    related: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, out: Path) -> Manifest:
        """The manifest in `out`; an empty one when there is none or it cannot be read."""
        try:
            data = json.loads((out / MANIFEST).read_bytes())
            if data.get("version") == EXPORT_VERSION:
                table = data["links"]
                files = {
                    path: [fingerprint, [table[i] for i in links]]
                    for path, (fingerprint, links) in data["files"].items()
                }
                related = data.get("related")
                related = related if isinstance(related, dict) else {}
                return cls(data["stamp"], files, data["errors"], data["broken_links"], related)
        except (OSError, ValueError, KeyError, AttributeError, TypeError, IndexError):
            pass
        return cls()

    def current(self, out: Path, path: str, fingerprint: str) -> bool:
        """Whether the file at `path` is on disk as made from inputs with `fingerprint`."""
        known = self.files.get(path)
        return bool(known) and known[0] == fingerprint and os.path.isfile(f"{out}/{path}")

    def complete(self, out: Path) -> bool:
        """Whether every file this manifest lists is still on disk."""
        root = str(out) + os.sep
        return bool(self.files) and all(os.path.isfile(root + path) for path in self.files)

    def write(self, out: Path) -> None:
        """Each distinct link is written once, in a table; a file lists its links by position
        there (pages share most of their links: a third of the size, read in half the time)."""
        table = sorted(set().union(*(links for _fingerprint, links in self.files.values())))
        position = {link: i for i, link in enumerate(table)}
        files = {
            path: [fingerprint, [position[link] for link in links]]
            for path, (fingerprint, links) in self.files.items()
        }
        body = {
            "version": EXPORT_VERSION,
            "stamp": self.stamp,
            "links": table,
            "files": files,
            "errors": self.errors,
            "broken_links": self.broken_links,
            "related": self.related,
        }
        FileWriter(out).write(
            MANIFEST, json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        )


def fresh_staging(out: Path) -> Path:
    """An empty staging folder in OUT; one left by a killed export is cleared first."""
    staging = out / STAGING
    if staging.is_symlink():
        raise ExportError(f"refusing to use '{staging}': it is a link; remove it")
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


def check_links(manifest: dict[str, list], paths: set[str]) -> list[dict[str, str]]:
    """Every link, page by page, whose target is not among `paths`. Pages share most of their
    links, so each distinct link is looked up once; only pages with a broken one are revisited."""
    every = set().union(*(links for _fingerprint, links in manifest.values()))
    missing = {link for link in every if _target(link) not in paths}
    return [
        {"page": page, "link": link}
        for page, (_fingerprint, links) in sorted(manifest.items())
        if missing and not missing.isdisjoint(links)
        for link in links
        if link in missing
    ]


def _target(link: str) -> str:
    return link + "index.html" if link.endswith("/") or not link else link
