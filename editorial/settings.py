"""One settings class: EDITORIAL_* environment variables, a .env file, working defaults."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from editorial.plaindata import control_character

PACKAGE_THEMES = Path(__file__).resolve().parent.parent / "themes"
_THEME_NAME = re.compile(r"[A-Za-z0-9._-]+")
_NOT_IN_URL = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')  # spaces, controls, unsafe characters


def check_base_url(value: str) -> str:
    """`value` if it can be the site's public address (every page's links and canonical URLs
    start with it); ValueError says what is wrong with it."""
    example = "such as https://corp.example/insights/"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError here
    except ValueError:
        raise ValueError(f"'{value}' is not a valid address, {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{value}' is not an absolute http(s) address, {example}")
    if _NOT_IN_URL.search(value):
        raise ValueError(
            f"'{value}' holds a space, quote, bracket or control character; percent-encode it"
        )
    if not value.isascii():  # sitemaps and feeds must give addresses as URIs
        raise ValueError(
            f"'{value}' holds characters outside ASCII; percent-encode the path "
            "(and give an international host name in its xn-- form)"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"'{value}' holds a user name or password, which every page would show")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"'{value}' has a query or fragment; give the site's folder, {example}")
    return value


def _listed(value: str) -> list[str]:
    """The entries of a list setting, separated by commas (or semicolons)."""
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


class Settings(BaseSettings):
    """Everything a deployment can change; the defaults serve the sample site from a clone."""

    model_config = SettingsConfigDict(env_prefix="EDITORIAL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./editorial.db"
    content_dir: Path = Path("content")
    themes_dir: Path = Path("themes")
    theme: str = "default"
    site_title: str = "Editorial"
    base_url: str = "http://127.0.0.1:8000/"
    page_size: int = Field(20, ge=1, le=1000)
    # How long anonymous readers' page views are cached; 0: off (see app/pagecache.py).
    page_cache_seconds: float = Field(1.0, ge=0, allow_inf_nan=False)
    ingest_workers: int = Field(0, ge=0)  # 0: one per core
    timezone: str = "UTC"
    max_upload_bytes: int = Field(512 * 1024, ge=1)  # a draft uploaded as a .md file
    # Reader feedback (ratings and comments); see README "Ratings and comments".
    secret_key: str = ""  # empty: one is generated and kept in the store
    feedback_api_url: str = ""  # empty: the site's own address
    feedback_origins: str = ""  # other origins allowed to post feedback, comma-separated
    trusted_proxies: str = ""  # proxy addresses/networks whose X-Forwarded-For is believed
    comment_moderation: Literal["all", "first", "none"] = "all"
    rating_prior_mean: float = Field(3.0, ge=1, le=5)  # stars
    rating_prior_weight: float = Field(5.0, ge=0, allow_inf_nan=False)
    ip_retention_days: int = Field(30, ge=0, le=36500)  # a century: dates stay in range
    reader_writes_per_minute: int = Field(10, ge=0)
    network_writes_per_hour: int = Field(1000, ge=0)
    network_new_readers_per_hour: int = Field(300, ge=0)
    reader_comments_per_hour: int = Field(6, ge=0)
    comment_max_chars: int = Field(5000, ge=1)
    comment_max_links: int = Field(2, ge=0)
    low_rating_threshold: float = Field(2.5, ge=1, le=5)  # stars
    low_rating_min_count: int = Field(3, ge=0)
    audit_min_ratings: int = Field(5, ge=0)

    @field_validator("database_url")
    @classmethod
    def _store_address(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; give one such as sqlite:///./editorial.db or "
                "postgresql+psycopg://user@host/editorial"
            ) from None
        return value

    @field_validator("base_url")
    @classmethod
    def _site_address(cls, value: str) -> str:
        return check_base_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA time zone name: the calendar and the gap report count days and weeks in it."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, as 'America'
            message = f"unknown time zone '{value}'; give an IANA name such as Europe/Paris"
            raise ValueError(message) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    @field_validator("site_title")
    @classmethod
    def _plain_title(cls, value: str) -> str:
        if problem := control_character(value):
            raise ValueError(f"the site title {problem}")
        return value

    @field_validator("feedback_api_url")
    @classmethod
    def _feedback_address(cls, value: str) -> str:
        """Empty (the site itself), or an address pages can post their forms to."""
        if value.strip():
            check_base_url(value.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        """Addresses or networks, comma-separated: one that is neither would fail every request
        forwarded through the proxy, so it is refused here, where it is set."""
        for part in _listed(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"'{part}' is not an IP address or network, such as 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return value

    @field_validator("feedback_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        """Origins, comma-separated: one without its scheme would be left out of the allow-list
        without a word, and every post from that site refused."""
        for part in _listed(value):
            parts = urlsplit(part)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"'{part}' is not an origin; write it with its scheme, such as "
                    "https://insights.corp.example"
                )
        return value

    @field_validator("theme")
    @classmethod
    def _theme_folder(cls, value: str, info: ValidationInfo) -> str:
        """A theme is a folder of the themes folder or of the built-in ones. A name that finds
        none would leave every page to `default` without a word, so it is refused."""
        if not _THEME_NAME.fullmatch(value) or value in (".", ".."):
            raise ValueError(
                f"'{value}' is not a theme name (a folder name: letters, digits, . _ -)"
            )
        roots = [root for root in (info.data.get("themes_dir"), PACKAGE_THEMES) if root]
        if not any((root / value).is_dir() for root in roots):
            raise ValueError(f"no theme '{value}' in {roots[0]} (nor among the built-in themes)")
        return value

    def theme_dirs(self) -> list[Path]:
        """Theme folders to search, the site's own theme first, `default` last."""
        roots = [self.themes_dir, PACKAGE_THEMES]
        names = [self.theme] if self.theme == "default" else [self.theme, "default"]
        found = [root / name for name in names for root in roots if (root / name).is_dir()]
        return list(dict.fromkeys(found))
