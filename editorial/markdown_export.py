"""`editorial export markdown DIR`: every piece back to a Markdown file, with the taxonomy, so
that ingesting DIR into an empty store gives the same pieces again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from editorial.models import Piece
from editorial.pieces import terms_of
from editorial.snapshot import as_markdown, front_matter_of
from editorial.wholefile import replacing

TAXONOMY_FILE = "taxonomy.yaml"
BATCH = 500


@dataclass
class MarkdownExport:
    """What one export wrote."""

    written: int = 0
    files: list[str] = field(default_factory=list)
    # Markdown files already in the folder that this export did not write (an earlier export's,
    # say, of a piece whose file has since moved): ingesting the folder would read them too.
    stale: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The summary; `stale` appears only when there are any."""
        return {"written": self.written} | ({"stale": self.stale} if self.stale else {})


def file_for(piece: Piece, taken: set[str]) -> str:
    """Where a piece's file goes: its source path when it has a safe one, else pieces/SLUG.md."""
    candidates = [f"pieces/{piece.slug}.md", f"pieces/{piece.slug}-{piece.id}.md"]
    source = piece.source_path
    if source and _safe(source):
        candidates.insert(0, source)
    chosen = next(c for c in candidates if c not in taken)
    taken.add(chosen)
    return chosen


def _safe(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    hidden = any(p.startswith(("_", ".")) for p in parts)
    return rel.endswith(".md") and not rel.startswith("/") and ".." not in parts and not hidden


def export_markdown(engine: Engine, content_dir: Path, out: Path) -> MarkdownExport:
    """Write every piece, of every status, as `out/<path>.md`, plus the taxonomy file."""
    out.mkdir(parents=True, exist_ok=True)
    taxonomy = content_dir / TAXONOMY_FILE
    if taxonomy.is_file() and taxonomy.resolve() != (out / TAXONOMY_FILE).resolve():
        _write_whole(out / TAXONOMY_FILE, taxonomy.read_bytes())
    report = MarkdownExport()
    taken: set[str] = set()
    with Session(engine) as session:
        last_id = 0
        while batch := _next_batch(session, last_id):
            terms = terms_of(session, [p.id for p in batch if p.id is not None])
            for piece in batch:
                assert piece.id is not None
                rel = file_for(piece, taken)
                text = as_markdown(front_matter_of(piece, terms.get(piece.id, {})), piece.body)
                _write_whole(out / rel, text.encode("utf-8"))
                report.files.append(rel)
            last_id = batch[-1].id or last_id
    report.written = len(report.files)
    if out.resolve() != content_dir.resolve():  # there, every file is a piece's own
        report.stale = _left_over(out, set(report.files))
    return report


def _write_whole(target: Path, data: bytes) -> None:
    """Write `target` whole or not at all: DIR may be the content folder itself, and a full
    disk or a killed export must not leave a piece's only source cut short."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with replacing(target) as temporary:
            temporary.write_bytes(data)
    except OSError as exc:  # named as the file being written, not the hidden one
        raise OSError(exc.errno, exc.strerror, str(target)) from exc


def _left_over(out: Path, written: set[str]) -> list[str]:
    """The files in `out` that ingest would read besides those just written."""
    from editorial.ingest import IngestReport, scan

    found, _unreadable = scan(out, IngestReport())
    return [rel for rel in found if rel not in written]


def _next_batch(session: Session, after: int) -> list[Piece]:
    statement = select(Piece).where(col(Piece.id) > after).order_by(col(Piece.id)).limit(BATCH)
    return list(session.exec(statement))
