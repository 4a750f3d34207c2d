"""The editorial calendar as JSON (signed in), as a private ICS feed, and rescheduling.

The feed's token is the person's API token (`editorial users token`, or the dashboard's button);
a missing or unknown token answers 404, like everything else that is not public.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from app.deps import CurrentUser, SessionDep, SettingsDep
from editorial import workflow
from editorial.auth import user_for_token
from editorial.calendar import (
    CalendarError,
    CalendarQuery,
    Site,
    Viewer,
    calendar,
    make_query,
    parse_day,
    reschedule,
)
from editorial.calendar_ics import to_ics
from editorial.clock import to_utc
from editorial.models import API_SCOPE, FEED_SCOPE, Piece
from editorial.settings import Settings

router = APIRouter(tags=["calendar"])
Filter = Annotated[str | None, Query(max_length=320)]


@dataclass(frozen=True)
class CalendarParams:
    """The query string every calendar view takes, unchecked until the caller is known."""

    start: str | None = None
    end: str | None = None
    audience: str | None = None
    stage: str | None = None
    topic: str | None = None
    format: str | None = None
    status: str | None = None
    assignee: str | None = None

    def query(self, site: Site) -> CalendarQuery:
        """The checked query; CalendarError names the bad field."""
        first = parse_day(self.start, "from") if self.start else None
        last = parse_day(self.end, "to") if self.end else None
        filters = {k: v for k, v in vars(self).items() if k not in ("start", "end")}
        return make_query(site, first, last, **filters)


async def calendar_params(
    start: Annotated[
        str | None, Query(alias="from", max_length=10, description="First day, YYYY-MM-DD")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=10, description="Last day, YYYY-MM-DD")
    ] = None,
    audience: Filter = None,
    stage: Filter = None,
    topic: Filter = None,
    format: Filter = None,
    status: Filter = None,
    assignee: Annotated[str | None, Query(max_length=320, description="An e-mail address")] = None,
) -> CalendarParams:
    """The calendar's range and filters from the query string (a coroutine: no thread hop)."""
    return CalendarParams(start, end, audience, stage, topic, format, status, assignee)


ParamsDep = Annotated[CalendarParams, Depends(calendar_params)]


def checked(params: CalendarParams, settings: Settings) -> tuple[Site, CalendarQuery]:
    """The site and the checked query, or 422 naming the field to fix."""
    try:
        site = Site.of(settings)
        return site, params.query(site)
    except CalendarError as error:
        raise HTTPException(422, {"message": str(error), "field": error.field}) from None


@router.get("/api/calendar", response_model=dict[str, Any])
def read_calendar(
    params: ParamsDep, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """Due and publish dates in a range, the undated backlog and (for editors) cadence flags;
    a contributor sees only their own assignments."""
    site, query = checked(params, settings)
    # already plain JSON values: answered as they are, not validated and encoded once more
    return JSONResponse(calendar(session, site, query, Viewer.of(user)).as_json())


@router.get("/calendar.ics", responses={404: {"description": "Missing or unknown token"}})
@router.head("/calendar.ics", include_in_schema=False)  # calendar apps check for changes
def calendar_feed(
    params: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A person's private calendar feed (iCalendar), with the same filters as /api/calendar."""
    # a feed token from a subscription link, or an API token (links made before feed tokens)
    user = user_for_token(session, token, (FEED_SCOPE, API_SCOPE)) if token else None
    if user is None:
        raise HTTPException(404, "Not Found")
    site, query = checked(params, settings)
    result = calendar(session, site, query, Viewer.of(user))
    body = to_ics(result, f"{settings.site_title} calendar ({user.name})", site.link)
    headers = {"Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex"}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


class RescheduleIn(BaseModel):
    """Move one lane's date of a piece: `version` is the one the mover saw."""

    slug: str
    lane: Literal["due", "publish"]
    date: date
    version: int


def moved(piece: Piece, lane: str) -> dict[str, Any]:
    """What the calendar needs to show a piece after a move."""
    moment = piece.due_at if lane == "due" else piece.publish_at
    return {
        "slug": piece.slug,
        "lane": lane,
        "at": to_utc(moment).isoformat() if moment else None,
        "version": piece.version,
        "status": piece.status,
    }


def refusal(error: workflow.WorkflowError) -> tuple[int, dict[str, Any]]:
    """The status and body that answer a workflow refusal."""
    message = str(error)
    if isinstance(error, workflow.NotFound):
        return 404, {"message": "Not Found"}
    if isinstance(error, workflow.Forbidden):
        return 403, {"message": message}
    if isinstance(error, workflow.InvalidInput):
        return 422, {"message": message, "errors": error.errors}
    if isinstance(error, workflow.Conflict):
        return 409, {"message": message, "current": _current(error.current)}
    assert isinstance(error, workflow.TransitionRefused)
    return 409, {"message": message, "allowed": error.allowed}


def _current(piece: Piece) -> dict[str, Any]:
    dates = {"due_at": piece.due_at, "publish_at": piece.publish_at}
    return {"slug": piece.slug, "version": piece.version, "status": piece.status} | {
        name: to_utc(value).isoformat() if value else None for name, value in dates.items()
    }


@contextmanager
def committing(session: Session) -> Iterator[None]:
    """Commit the block's work, or roll it back and answer with the refusal."""
    try:
        yield
    except workflow.WorkflowError as error:
        session.rollback()
        status, body = refusal(error)
        raise HTTPException(status, body) from error
    session.commit()


@router.post(
    "/api/calendar/reschedule",
    responses={404: {"description": "No such piece among yours"}, 409: {"description": "Stale"}},
)
def reschedule_item(
    body: RescheduleIn, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> dict[str, Any]:
    """Move a piece's due or publish date to another day (editors); the time of day is kept,
    and a stale `version` answers 409 with the piece as it is now."""
    site = Site.of(settings)
    with committing(session):
        piece = reschedule(
            session, user, site, body.slug, body.lane, body.date, body.version, "api"
        )
    return moved(piece, body.lane)
