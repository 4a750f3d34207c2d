"""Liveness and readiness for load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)  # load balancers check with HEAD
def healthz(session: SessionDep) -> dict[str, str]:
    """Answers when the application and its database respond."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok"}
