"""Helpers shared by the feedback tests: a site with pieces, clients as distinct readers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.main import create_app
from editorial import auth
from editorial.models import Comment, Rating
from editorial.settings import Settings

PUBLIC = "cloud-basics"
OTHER = "cloud-basics-finance"
HIDDEN = ["analytics-plan", "hugo-style", "future", "expired", "no-such-piece"]
PASSWORD = "correct horse battery"


@contextmanager
def app_client(settings: Settings, **changes: Any) -> Iterator[TestClient]:
    """A client on an app built with these settings changed; its cookie jar is one reader."""
    options = {k: changes.pop(k) for k in ("base_url", "client") if k in changes}
    with TestClient(create_app(settings.model_copy(update=changes)), **options) as client:
        yield client


def ratings(engine: Engine) -> list[Rating]:
    with Session(engine) as session:
        return list(session.exec(select(Rating).order_by(Rating.id)))


def comments(engine: Engine) -> list[Comment]:
    with Session(engine) as session:
        return list(session.exec(select(Comment).order_by(Comment.id)))


def make_user(engine: Engine, role: str, email: str) -> str:
    """A team member with a password; returns an API token for them."""
    with Session(engine) as session:
        user = auth.create_user(session, role.title(), email, role, PASSWORD)
        token = auth.issue_token(session, user)
        session.commit()
        return token


def sign_in(client: TestClient, email: str) -> None:
    form = client.get("/editor/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"email": email, "password": PASSWORD, "csrf_token": token, "next": "/editor/"}
    assert client.post("/editor/login", data=data, follow_redirects=False).status_code == 303


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
