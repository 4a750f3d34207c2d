"""Request dependencies, as Annotated aliases used by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from editorial.catalog import Catalog
from editorial.settings import Settings
from editorial.site import Pages
from editorial.taxonomy import current_taxonomy


def get_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request."""
    with Session(request.app.state.engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_pages(request: Request, settings: SettingsDep) -> Pages:
    """The public pages, with the taxonomy as it is on disk now."""
    taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    return Pages(request.app.state.renderer, taxonomy, settings.page_size)


def get_catalog(request: Request, session: SessionDep) -> Catalog:
    """Everything public now (cached per process, checked against the store each request)."""
    return request.app.state.catalogs.get(session)


PagesDep = Annotated[Pages, Depends(get_pages)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
