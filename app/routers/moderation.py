"""Editors' side of reader feedback: the moderation queue, the content audit, and their API."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from app.dashboard import render_dashboard
from app.deps import DashboardEditor, EditorUser, SessionDep, SettingsDep
from editorial.audit import Audit, audit, low_rated_pieces
from editorial.db import MAX_ROW_NUMBER
from editorial.models import CommentStatus
from editorial.moderation import ModerationError, moderate, queue, status_counts
from editorial.settings import Settings
from editorial.taxonomy import current_taxonomy

router = APIRouter(tags=["feedback moderation"])
ACTION_WORDS = {"approve": "approved", "reject": "rejected", "spam": "marked as spam"}


class Action(StrEnum):
    approve = "approve"
    reject = "reject"
    spam = "spam"


class AuditFormat(StrEnum):
    json = "json"
    csv = "csv"


class ModerationIn(BaseModel):
    """Comments to approve, reject or mark as spam, all at once."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_NUMBER)]] = Field(min_length=1, max_length=1000)
    action: Action


def _audit(session: SessionDep, settings: Settings) -> Audit:
    taxonomy = current_taxonomy(settings.content_dir / "taxonomy.yaml")
    return audit(session, settings, taxonomy)


@router.get("/api/feedback/audit", responses={200: {"content": {"text/csv": {}}}})
def read_audit(
    session: SessionDep, settings: SettingsDep, _editor: EditorUser, format: AuditFormat = "json"
) -> Response:
    """Ratings and comments rolled up by audience, stage, topic, format and author (editors)."""
    report = _audit(session, settings)
    if format == AuditFormat.csv:
        headers = {"Content-Disposition": 'attachment; filename="reader-audit.csv"'}
        return Response(report.as_csv(), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(json.dumps(report.as_json()), media_type="application/json")


@router.get("/api/feedback/low-rated")
def read_low_rated(session: SessionDep, settings: SettingsDep, _editor: EditorUser) -> list:
    """Public pieces readers rate poorly: candidates for the review queue (editors)."""
    return [
        {
            "slug": s.slug,
            "title": s.title,
            "ratings": s.ratings,
            "mean": s.mean,
            "bayesian": s.bayesian,
        }
        for s in low_rated_pieces(session, settings)
    ]


@router.get("/api/feedback/comments")
def read_queue(
    session: SessionDep, _editor: EditorUser, status: CommentStatus = CommentStatus.PENDING
) -> list:
    """Comments with one moderation status, oldest first (editors)."""
    return [
        {
            "id": item.id,
            "piece": item.piece_slug,
            "name": item.name,
            "body": item.body,
            "status": item.status,
            "reply": item.reply,
            "created_at": item.created_at.isoformat(),
        }
        for item in queue(session, status)
    ]


@router.post("/api/feedback/comments/moderate")
def moderate_comments(request: ModerationIn, session: SessionDep, _editor: EditorUser) -> dict:
    """Approve, reject or mark as spam several comments at once (editors)."""
    changed = moderate(session, request.ids, request.action)
    session.commit()
    return {"changed": changed, "action": request.action}


@router.get("/editor/comments", response_class=HTMLResponse, include_in_schema=False)
def comments_page(
    request: Request,
    session: SessionDep,
    signed_in: DashboardEditor,
    status: CommentStatus = CommentStatus.PENDING,
    done: Annotated[int | None, Query(ge=0)] = None,
    action: Action | None = None,
) -> Response:
    """The moderation queue: comments of one status, with bulk actions."""
    notice = ""
    if done is not None and action is not None:
        notice = f"{done} comment{'s' if done != 1 else ''} {ACTION_WORDS[action]}."
    return _queue_page(request, session, signed_in, status, notice=notice)


def _queue_page(
    request: Request,
    session: SessionDep,
    signed_in: DashboardEditor,
    status: CommentStatus,
    notice: str = "",
    error: str = "",
) -> Response:
    return render_dashboard(
        request,
        signed_in,
        "editor/comments.html",
        400 if error else 200,
        items=queue(session, status),
        counts=status_counts(session),
        status=status.value,
        notice=notice,
        error=error,
    )


@router.post("/editor/comments", include_in_schema=False)
def moderate_form(
    request: Request,
    session: SessionDep,
    signed_in: DashboardEditor,
    action: Annotated[str, Form(max_length=20)] = "",
    ids: Annotated[list[int] | None, Form()] = None,
    status: Annotated[CommentStatus, Form()] = CommentStatus.PENDING,
) -> Response:
    """Apply one action to every ticked comment, then back to the queue."""
    try:
        changed = moderate(session, ids or [], action)
    except ModerationError as error:
        return _queue_page(request, session, signed_in, status, error=str(error))
    session.commit()
    target = f"/editor/comments?status={status.value}&done={changed}&action={action}"
    return RedirectResponse(request.app.state.renderer.site.url(target), status_code=303)


@router.get("/editor/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request, session: SessionDep, settings: SettingsDep, signed_in: DashboardEditor
) -> Response:
    """The content audit: what readers think, by segment, with best and worst subject areas."""
    report = _audit(session, settings)
    return render_dashboard(
        request,
        signed_in,
        "editor/audit.html",
        report=report,
        low_rated=low_rated_pieces(session, settings),
        dimensions=("audience", "stage", "topic", "format", "author"),
    )
