"""The dashboard calendar (/editor/calendar): month and week views, the backlog, cadence
warnings, rescheduling by a plain form (drag and drop posts to /api/calendar/reschedule), and
the private ICS subscription link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from app.dashboard import render_dashboard
from app.deps import DashboardUser, SessionDep, SettingsDep
from app.routers.calendar import refusal
from editorial import auth, clock, workflow
from editorial.auth import SignedIn
from editorial.calendar import (
    FILTERS,
    LANES,
    CalendarError,
    Site,
    Viewer,
    calendar,
    make_query,
    reschedule,
)
from editorial.models import DIMENSIONS, FEED_SCOPE, Role, Status, User

router = APIRouter(prefix="/editor/calendar", tags=["dashboard"], include_in_schema=False)
HOME = "/editor/calendar"
UNMOVABLE = (Status.PUBLISHED, Status.ARCHIVED)


@dataclass(frozen=True)
class View:
    """The days a month or week view shows, in rows of seven starting on Monday."""

    kind: str
    anchor: date
    rows: list[list[date]]
    previous: date
    following: date

    @property
    def start(self) -> date:
        return self.rows[0][0]

    @property
    def end(self) -> date:
        return self.rows[-1][-1]

    @property
    def title(self) -> str:
        if self.kind == "week":
            return f"Week of {self.start.day} {self.start:%B %Y}"
        return f"{self.anchor:%B %Y}"


def view_of(kind: str, anchor: date) -> View:
    """The month containing `anchor` (whole weeks), or the week containing it."""
    if kind == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        days = [monday + timedelta(days=n) for n in range(7)]
        return View(
            "week", anchor, [days], monday - timedelta(weeks=1), monday + timedelta(weeks=1)
        )
    first = anchor.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    monday = first - timedelta(days=first.weekday())
    rows = []
    while monday < after:
        rows.append([monday + timedelta(days=n) for n in range(7)])
        monday += timedelta(weeks=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return View("month", first, rows, previous, after)


def safe_back(target: str) -> str:
    """Only the calendar page itself is a place to go back to."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.rstrip("/") != HOME:
        return HOME
    return f"{HOME}?{parts.query}" if parts.query else HOME


def _page_params(raw: dict[str, str]) -> tuple[str, date | None, dict[str, str]]:
    kind = "week" if raw.get("view") == "week" else "month"
    try:
        anchor = clock.in_range(date.fromisoformat(raw.get("date", "")))
    except ValueError:  # OutOfRange too: the page shows the current month
        anchor = None
    filters = {name: raw[name].strip() for name in FILTERS if raw.get(name, "").strip()}
    return kind, anchor, filters


def render_page(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    site: Site,
    raw: dict[str, str],
    *,
    message: str = "",
    feed_link: str = "",
    status_code: int = 200,
) -> Response:
    """The calendar page for the view, date and filters in `raw` (a query string's values)."""
    kind, anchor, filters = _page_params(raw)
    view = view_of(kind, anchor or clock.now().astimezone(site.tz).date())
    errors: dict[str, str] = {}
    try:
        query = make_query(site, view.start, view.end, **filters)
    except CalendarError as error:
        errors[error.field] = str(error)
        query = make_query(site, view.start, view.end)
    result = calendar(session, site, query, Viewer.of(signed_in.user))
    keep = urlencode(filters)
    context = {
        "view": view,
        "cal": result,
        "site_tz": site.tz,
        "filters": filters,
        "filter_query": keep,
        "back": f"{HOME}?{urlencode({'view': view.kind, 'date': view.anchor.isoformat()} | filters)}",
        "choices": _choices(session, site, signed_in.user),
        "errors": errors,
        "lanes": LANES,
        "today": clock.now().astimezone(site.tz).date(),
        "can_move": signed_in.user.role == Role.EDITOR,
        "unmovable": UNMOVABLE,
        "message": message,
        "feed_link": feed_link,
    }
    return render_dashboard(request, signed_in, "editor/calendar.html", status_code, **context)


def _choices(session: Session, site: Site, user: User) -> dict[str, list[tuple[str, str]]]:
    """The options of each filter: declared terms, statuses, and (for editors) team members."""
    options = {d: [(t.slug, t.label) for t in site.taxonomy.terms(d)] for d in DIMENSIONS}
    options["status"] = [(s.value, s.value) for s in Status]
    if user.role == Role.EDITOR:
        people = session.exec(select(User).where(col(User.active)).order_by(col(User.name)))
        options["assignee"] = [(p.email, f"{p.name} <{p.email}>") for p in people]
    return options


@router.get("", response_class=HTMLResponse)
def calendar_page(
    request: Request, session: SessionDep, settings: SettingsDep, signed_in: DashboardUser
) -> Response:
    """Month or week view of due and publish dates, with the backlog and cadence warnings."""
    raw = dict(request.query_params)
    return render_page(request, session, signed_in, Site.of(settings), raw)


@router.post("/reschedule")
def reschedule_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signed_in: DashboardUser,
    slug: Annotated[str, Form(max_length=200)],
    lane: Annotated[str, Form(max_length=20)],
    version: Annotated[int, Form()],
    day: Annotated[str, Form(alias="date", max_length=20)] = "",
    back: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Move a piece's due or publish date (the keyboard and no-JS way), then go back."""
    site, target = Site.of(settings), safe_back(back)
    raw = dict(parse_qsl(urlsplit(target).query))
    try:
        moved_to = date.fromisoformat(day.strip())
    except ValueError:
        message = f"date: '{day}' is not a date; pick a day (YYYY-MM-DD) and move it again."
        return render_page(request, session, signed_in, site, raw, message=message, status_code=422)
    try:
        reschedule(session, signed_in.user, site, slug, lane, moved_to, version, "form")
    except workflow.WorkflowError as error:
        session.rollback()
        status, body = refusal(error)
        message = _explain(error, status, body)
        return render_page(
            request, session, signed_in, site, raw, message=message, status_code=status
        )
    session.commit()
    return RedirectResponse(target, status_code=303)


def _explain(error: workflow.WorkflowError, status: int, body: dict[str, Any]) -> str:
    """What a person reads when a move is refused."""
    if isinstance(error, workflow.Conflict):
        current = error.current
        return (
            f"Not moved: “{current.title}” was changed by someone else after this page was "
            f"loaded (it is now at version {current.version}). The calendar below shows its "
            "current dates; move it again if you still want to."
        )
    if status == 404:
        return "Not moved: that piece is not among yours, or no longer exists."
    return f"Not moved: {body['message']}"


@router.post("/feed-link", response_class=HTMLResponse)
def feed_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signed_in: DashboardUser,
    back: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Make a new private ICS subscription link and show it once; its token opens that feed
    and nothing else."""
    raw = dict(parse_qsl(urlsplit(safe_back(back)).query))
    _kind, _anchor, filters = _page_params(raw)
    token = auth.issue_token(session, signed_in.user, FEED_SCOPE)
    session.commit()
    address = request.app.state.renderer.site.absolute("calendar.ics")
    link = f"{address}?{urlencode({'token': token} | filters)}"
    return render_page(request, session, signed_in, Site.of(settings), raw, feed_link=link)
