"""Theme static files: the site's theme first, then `default`.

`/static/` holds what the public pages (and the export) use; `/editor/static/` what only the
dashboard uses, so that the corporate site never receives dashboard files."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.deps import SettingsDep
from editorial.settings import Settings

router = APIRouter(tags=["static"], include_in_schema=False)


def _theme_file(settings: Settings, folder: str, path: str) -> FileResponse:
    for theme in settings.theme_dirs():
        root = (theme / folder).resolve()
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate, headers={"Cache-Control": "public, max-age=3600"})
    raise HTTPException(status_code=404)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
def static_file(path: str, settings: SettingsDep) -> FileResponse:
    """A file from the first theme that has it; nothing outside a theme's static folder."""
    return _theme_file(settings, "static", path)


@router.api_route("/editor/static/{path:path}", methods=["GET", "HEAD"])
def dashboard_file(path: str, settings: SettingsDep) -> FileResponse:
    """A dashboard asset (styles, scripts) from the theme's `editor/static` folder."""
    return _theme_file(settings, "editor/static", path)
