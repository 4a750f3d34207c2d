"""Theme static files: the site's theme first, then `default`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.deps import SettingsDep

router = APIRouter(tags=["static"], include_in_schema=False)


@router.get("/static/{path:path}")
def static_file(path: str, settings: SettingsDep) -> FileResponse:
    """A file from the first theme that has it; nothing outside a theme's static folder."""
    for theme in settings.theme_dirs():
        root = (theme / "static").resolve()
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate, headers={"Cache-Control": "public, max-age=3600"})
    raise HTTPException(status_code=404)
