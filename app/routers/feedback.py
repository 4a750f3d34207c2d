"""Readers' ratings and comments: the JSON API and the plain HTML forms of the piece page.

Both ways in call the same domain functions (editorial.intake). A reader is the random id in the
signed cookie `editorial_reader`, set on the first post. Posts from a page of another origin are
refused unless that origin is on the allow-list (EDITORIAL_FEEDBACK_ORIGINS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from app.deps import PagesDep, SessionDep, SettingsDep, over_https
from app.routers.pages import canonical_number
from editorial.db import autocommit_session
from editorial.feedback import (
    CommentInput,
    FeedbackError,
    Visitor,
    approved_threads,
    own_rating,
    public_piece_id,
    rating_summary,
)
from editorial.intake import submit_comment, submit_rating
from editorial.readers import (
    READER_COOKIE,
    READER_COOKIE_AGE,
    Keys,
    Limited,
    Reader,
    allowed_origins,
    client_address,
    network_hash,
    origin_of,
    reader_from_cookie,
    signing_secret,
)
from editorial.render import piece_path

router = APIRouter(tags=["feedback"])


# The dependencies below are coroutines that do not wait on anything (the key is read from
# the store once per process), so that a rating does not hop to a worker thread for each.


async def get_keys(request: Request) -> Keys:
    """The signing keys, read (or made) once per process."""
    keys = getattr(request.app.state, "reader_keys", None)
    if keys is None:
        state = request.app.state
        secret = await run_in_threadpool(signing_secret, state.engine, state.settings)
        keys = request.app.state.reader_keys = Keys.from_secret(secret)
    return keys


KeysDep = Annotated[Keys, Depends(get_keys)]


def own_origin(request: Request) -> str:
    """The origin this request was addressed to."""
    return origin_of(str(request.base_url))


async def check_origin(request: Request, settings: SettingsDep) -> None:
    """Refuse a post sent by a page of an origin that is neither this site nor allowed."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin_of(origin) not in allowed_origins(settings) | {own_origin(request)}:
        raise HTTPException(
            403, "Posts from this site's own pages only; this origin is not allowed."
        )


@dataclass
class Caller:
    """The reader behind a request and what the store may know of them."""

    reader: Reader
    visitor: Visitor


async def get_caller(request: Request, settings: SettingsDep, keys: KeysDep) -> Caller:
    """The reader from the signed cookie (a new one when absent) and their network's hash."""
    reader = reader_from_cookie(keys, request.cookies.get(READER_COOKIE))
    peer = request.client.host if request.client else None
    address = client_address(peer, request.headers.get("x-forwarded-for"), settings)
    return Caller(reader, Visitor(reader.key, network_hash(keys, address), reader.new))


CallerDep = Annotated[Caller, Depends(get_caller)]
Posting = [Depends(check_origin)]


def _remember(request: Request, response: Response, reader: Reader) -> Response:
    if reader.new:
        response.set_cookie(
            READER_COOKIE,
            reader.cookie,
            max_age=int(READER_COOKIE_AGE.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=over_https(request),
            path="/",
        )
    return response


def _api_error(error: Exception) -> HTTPException:
    if isinstance(error, Limited):
        return HTTPException(429, str(error), headers={"Retry-After": str(error.retry_after)})
    assert isinstance(error, FeedbackError)
    detail = {"message": str(error), "field": error.field} if error.field else str(error)
    return HTTPException(error.status, detail)


class RatingIn(BaseModel):
    """A reader's rating; `website` is a honeypot that people leave empty."""

    stars: int = Field(ge=1, le=5, description="1 to 5")
    website: str = Field(default="", max_length=200)


class CommentIn(BaseModel):
    """A reader's comment in Markdown (no raw HTML); `website` is a honeypot."""

    name: str = Field(max_length=200)
    body: str = Field(max_length=50_000)
    parent_id: int | None = None
    website: str = Field(default="", max_length=200)


@router.get("/api/pieces/{slug}/ratings", responses={404: {"description": "Not published"}})
def read_ratings(slug: str, session: SessionDep, settings: SettingsDep, caller: CallerDep) -> dict:
    """A published piece's ratings: count, mean, Bayesian average, distribution, yours."""
    try:
        piece_id = public_piece_id(session, slug)
    except FeedbackError as error:
        raise _api_error(error) from None
    summary = rating_summary(session, piece_id, settings).as_json()
    yours = None if caller.reader.new else own_rating(session, piece_id, caller.reader.key)
    return {**summary, "yours": yours}


@router.post("/api/pieces/{slug}/ratings", dependencies=Posting)
def post_rating(
    slug: str,
    rating: RatingIn,
    request: Request,
    settings: SettingsDep,
    caller: CallerDep,
) -> Response:
    """Rate a published piece 1 to 5 as the reader in cookie `editorial_reader`; again replaces."""
    # The busiest endpoint opens its session here, in its worker thread (SessionDep would cost
    # two more thread hops per rating), and each of its statements commits by itself.
    with autocommit_session(request.app.state.engine) as session:
        try:
            summary = submit_rating(
                session, settings, slug, caller.reader, caller.visitor, rating.stars, rating.website
            )
        except (FeedbackError, Limited) as error:
            raise _api_error(error) from None
    body = {**summary.as_json(), "yours": rating.stars}
    return _remember(request, JSONResponse(body), caller.reader)


@router.get("/api/pieces/{slug}/comments", responses={404: {"description": "Not published"}})
def read_comments(slug: str, session: SessionDep) -> dict:
    """A published piece's approved comments, oldest first, replies under their comment."""
    try:
        piece_id = public_piece_id(session, slug)
    except FeedbackError as error:
        raise _api_error(error) from None
    threads = approved_threads(session, [piece_id]).get(piece_id, [])
    count = sum(1 + len(t.replies) for t in threads)
    return {"count": count, "comments": [t.as_json() for t in threads]}


@router.post("/api/pieces/{slug}/comments", status_code=201, dependencies=Posting)
def post_comment(
    slug: str,
    comment: CommentIn,
    request: Request,
    settings: SettingsDep,
    caller: CallerDep,
) -> Response:
    """Comment on a published piece; held for moderation unless the settings say otherwise."""
    given = CommentInput(comment.name, comment.body, comment.parent_id)
    # As for ratings: each statement commits as it runs, so that a comment never holds the
    # store's write lock while its thread waits for the interpreter.
    with autocommit_session(request.app.state.engine) as session:
        try:
            comment_id, status = submit_comment(
                session, settings, slug, caller.reader, caller.visitor, given, comment.website
            )
        except (FeedbackError, Limited) as error:
            raise _api_error(error) from None
    message = "Thank you: your comment is published." if status == "approved" else HELD
    body = {"id": comment_id, "status": status, "message": message}
    return _remember(request, JSONResponse(body, status_code=201), caller.reader)


HELD = "Thank you: your comment will appear once a moderator has read it."


def _back(request: Request, settings: SettingsDep, slug: str, return_to: str, mark: str) -> str:
    """Where a form post returns: the page it came from when that is a trusted page."""
    trusted = allowed_origins(settings) | {own_origin(request)}
    if return_to and origin_of(return_to) in trusted:
        target = return_to.split("#")[0]
    else:
        target = request.app.state.renderer.site.url(piece_path(slug))
    return f"{target}#{mark}"


def _form_error(request: Request, pages: PagesDep, slug: str, error: Exception) -> Response:
    status = 429 if isinstance(error, Limited) else getattr(error, "status", 422)
    if status == 404:
        raise HTTPException(404)
    html = request.app.state.renderer.render(
        "feedback_result.html",
        path=piece_path(slug),
        stages=pages.taxonomy.terms("stage"),
        message=str(error),
        field=getattr(error, "field", None),
        back=request.app.state.renderer.site.url(piece_path(slug)),
    )
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Limited) else None
    return HTMLResponse(html, status_code=status, headers=headers)


@router.post("/pieces/{slug}/rate", include_in_schema=False, dependencies=Posting)
def rate_form(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    caller: CallerDep,
    stars: Annotated[str, Form(max_length=10)] = "",
    website: Annotated[str, Form(max_length=200)] = "",
    return_to: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The piece page's star form without JavaScript: rate, then back to the page."""
    try:
        value = canonical_number(stars.strip()) or 0
        submit_rating(session, settings, slug, caller.reader, caller.visitor, value, website)
    except (FeedbackError, Limited) as error:
        return _remember(request, _form_error(request, pages, slug, error), caller.reader)
    target = _back(request, settings, slug, return_to, "feedback-rated")
    return _remember(request, RedirectResponse(target, status_code=303), caller.reader)


@router.post("/pieces/{slug}/comment", include_in_schema=False, dependencies=Posting)
def comment_form(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    caller: CallerDep,
    name: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=50_000)] = "",
    parent_id: Annotated[str, Form(max_length=20)] = "",
    website: Annotated[str, Form(max_length=200)] = "",
    return_to: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The piece page's comment form without JavaScript: post, then back to the page."""
    parent = canonical_number(parent_id.strip())
    given = CommentInput(name, body, parent)
    try:
        _id, status = submit_comment(
            session, settings, slug, caller.reader, caller.visitor, given, website
        )
    except (FeedbackError, Limited) as error:
        return _remember(request, _form_error(request, pages, slug, error), caller.reader)
    mark = "feedback-published" if status == "approved" else "feedback-held"
    target = _back(request, settings, slug, return_to, mark)
    return _remember(request, RedirectResponse(target, status_code=303), caller.reader)
