"""One settings class: EDITORIAL_* environment variables, a .env file, working defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_THEMES = Path(__file__).resolve().parent.parent / "themes"


class Settings(BaseSettings):
    """Everything a deployment can change; the defaults serve the sample site from a clone."""

    model_config = SettingsConfigDict(env_prefix="EDITORIAL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./editorial.db"
    content_dir: Path = Path("content")
    themes_dir: Path = Path("themes")
    theme: str = "default"
    site_title: str = "Editorial"
    base_url: str = "http://127.0.0.1:8000/"
    page_size: int = 20
    ingest_workers: int = 0  # 0: one per core
    timezone: str = "UTC"
    max_upload_bytes: int = 512 * 1024  # a draft uploaded as a .md file

    def theme_dirs(self) -> list[Path]:
        """Theme folders to search, the site's own theme first, `default` last."""
        roots = [self.themes_dir, PACKAGE_THEMES]
        names = [self.theme] if self.theme == "default" else [self.theme, "default"]
        found = [root / name for name in names for root in roots if (root / name).is_dir()]
        return list(dict.fromkeys(found))
