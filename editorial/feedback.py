"""Readers' ratings and comments on published pieces, and what the piece page shows of them.

Only pieces a reader may see now can be rated or commented on. A rating is one row per reader
and piece, written by one atomic upsert, so that any number of app processes and concurrent
raters count every reader exactly once. Comments are Markdown without raw HTML, rendered and
sanitised once when posted, and shown only once approved.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import DateTime, Insert, Select, bindparam, func
from sqlmodel import Session, col, or_, select

from editorial import clock
from editorial.db import names_a_row, upsert_insert
from editorial.models import Comment, CommentStatus, Piece, Rating
from editorial.pieces import public_filter
from editorial.plaindata import control_character
from editorial.settings import Settings

NAME_MAX = 80
# A link is a URL written out, or a Markdown link to anything else (such as "mailto:").
LINK_RE = re.compile(r"(?:https?://|www\.)[^\s)\]]+|\]\((?!\s*(?:https?://|www\.))", re.IGNORECASE)
STARS = range(1, 6)


class FeedbackError(ValueError):
    """A submission that cannot be taken, with the field at fault and what to do."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


class NotFound(FeedbackError):
    """No piece a reader may see at this slug."""

    def __init__(self) -> None:
        super().__init__("No published piece at this address.", None, 404)


@dataclass(frozen=True)
class Visitor:
    """Who is posting: the stored reader key, whether they are new, and their network hash."""

    reader: str
    network: str
    new: bool = False


@dataclass
class RatingSummary:
    """A piece's ratings: count, mean, Bayesian average and the count of each star value."""

    count: int = 0
    mean: float | None = None
    bayesian: float | None = None
    distribution: dict[str, int] = field(default_factory=lambda: {str(s): 0 for s in STARS})

    @property
    def shown_mean(self) -> str:
        """The mean to one decimal as pages show it, halves rounded up, worked out from the star
        counts exactly (static/feedback.js does the same), never from the rounded `mean`."""
        total = sum(int(stars) * n for stars, n in self.distribution.items())
        tenths = (20 * total + self.count) // (2 * self.count) if self.count else 0
        return f"{tenths // 10}.{tenths % 10}"

    def as_json(self) -> dict:
        return {
            "count": self.count,
            "mean": self.mean,
            "bayesian": self.bayesian,
            "distribution": self.distribution,
        }


def bayesian(count: int, total: float, settings: Settings) -> float | None:
    """The mean pulled towards the prior: (weight·prior + Σstars) / (weight + count)."""
    weight = settings.rating_prior_weight
    if count + weight <= 0:
        return None
    return round((weight * settings.rating_prior_mean + total) / (weight + count), 3)


def summarise(distribution: dict[int, int], settings: Settings) -> RatingSummary:
    """The summary of a star → count mapping."""
    count = sum(distribution.values())
    total = sum(stars * n for stars, n in distribution.items())
    return RatingSummary(
        count=count,
        mean=round(total / count, 3) if count else None,
        bayesian=bayesian(count, total, settings) if count else None,
        distribution={str(s): distribution.get(s, 0) for s in STARS},
    )


# The statements on the rating path are built once and run with parameters: building a
# statement costs more than running it, and a rating must take a few milliseconds at most.


@cache
def _public_piece_id() -> Select:
    at = bindparam("at", type_=DateTime(timezone=True))
    return select(Piece.id).where(col(Piece.slug) == bindparam("slug"), public_filter(at))


def public_piece_id(session: Session, slug: str) -> int:
    """The id of the piece a reader may see at `slug`; NotFound otherwise."""
    parameters = {"slug": slug, "at": clock.now()}
    piece_id = session.connection().execute(_public_piece_id(), parameters).scalar()
    if piece_id is None:
        raise NotFound
    return piece_id


@cache
def _upsert_rating(dialect: str) -> Insert:
    insert = upsert_insert(dialect)
    table = Rating.__table__  # type: ignore[attr-defined]
    names = ("piece_id", "reader", "stars", "ip_hash", "created_at", "updated_at")
    statement = insert(table).values({name: bindparam(name) for name in names})
    return statement.on_conflict_do_update(
        index_elements=["piece_id", "reader"],
        set_={name: statement.excluded[name] for name in ("stars", "ip_hash", "updated_at")},
    )


def rate(session: Session, piece_id: int, visitor: Visitor, stars: int) -> None:
    """Record `stars` as this reader's rating of the piece, replacing any earlier one."""
    if not isinstance(stars, int) or stars not in STARS:
        raise FeedbackError("Choose from 1 to 5 stars.", "stars")
    now = clock.now()
    connection = session.connection()
    connection.execute(
        _upsert_rating(connection.dialect.name),
        {
            "piece_id": piece_id,
            "reader": visitor.reader,
            "stars": stars,
            "ip_hash": visitor.network,
            "created_at": now,
            "updated_at": now,
        },
    )


def distributions(session: Session, piece_ids: list[int] | None = None) -> dict[int, dict]:
    """Each piece's star → count mapping (all pieces when `piece_ids` is None)."""
    statement = select(Rating.piece_id, Rating.stars, func.count()).group_by(
        col(Rating.piece_id), col(Rating.stars)
    )
    if piece_ids is not None:
        statement = statement.where(col(Rating.piece_id).in_(piece_ids))
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for piece_id, stars, n in session.connection().execute(statement):  # Core: no ORM cost
        found[piece_id][stars] = n
    return found


@cache
def _one_distribution() -> Select:
    return (
        select(Rating.stars, func.count())
        .where(col(Rating.piece_id) == bindparam("piece_id"))
        .group_by(col(Rating.stars))
    )


def rating_summary(session: Session, piece_id: int, settings: Settings) -> RatingSummary:
    """One piece's rating summary."""
    rows = session.connection().execute(_one_distribution(), {"piece_id": piece_id})
    return summarise({row[0]: row[1] for row in rows}, settings)


def own_rating(session: Session, piece_id: int, reader: str) -> int | None:
    """The stars this reader gave this piece, if any."""
    statement = select(Rating.stars).where(Rating.piece_id == piece_id, Rating.reader == reader)
    return session.exec(statement).first()


@dataclass(frozen=True)
class CommentInput:
    """What a reader sends to comment."""

    name: str
    body: str
    parent_id: int | None = None


@cache
def _comment_renderer() -> Callable[[str], str]:
    import nh3
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False}).disable("image")
    cleaner = nh3.Cleaner(
        tags={"p", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "br"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc",
    )
    return lambda text: cleaner.clean(parser.render(text))


def render_comment(body: str) -> str:
    """A comment's Markdown as safe HTML: no raw HTML, no images, links rel="nofollow ugc"."""
    return _comment_renderer()(body)


def _clean(given: CommentInput, settings: Settings) -> tuple[str, str]:
    for field_name, text in (("name", given.name), ("body", given.body)):
        if problem := control_character(text):  # PostgreSQL cannot store NUL, pages the others
            raise FeedbackError(f"The {field_name} {problem}.", field_name)
    name = " ".join(given.name.split())
    body = given.body.replace("\r\n", "\n").strip()
    if not name:
        raise FeedbackError("Give a name to show with your comment.", "name")
    if len(name) > NAME_MAX:
        raise FeedbackError(f"Keep the name to {NAME_MAX} characters or fewer.", "name")
    if not body:
        raise FeedbackError("Write something in the comment.", "body")
    if len(body) > settings.comment_max_chars:
        raise FeedbackError(
            f"The comment has {len(body)} characters; keep it to {settings.comment_max_chars}.",
            "body",
        )
    return name, body


def _parent(session: Session, piece_id: int, parent_id: int | None) -> int | None:
    """The thread a reply joins: an approved comment on this piece (replies nest one level)."""
    if parent_id is None:
        return None
    parent = session.get(Comment, parent_id) if names_a_row(parent_id) else None
    if parent is None or parent.piece_id != piece_id or parent.status != CommentStatus.APPROVED:
        raise FeedbackError("The comment you reply to is not on this page.", "parent_id")
    return parent.parent_id or parent.id


def _refuse_duplicate(session: Session, piece_id: int, reader: str, body: str) -> None:
    same = select(Comment.id).where(
        Comment.body == body, or_(Comment.piece_id == piece_id, Comment.reader == reader)
    )
    if session.exec(same.limit(1)).first() is not None:
        raise FeedbackError("This exact comment has already been posted.", "body", 409)


def _initial_status(session: Session, settings: Settings, reader: str, text: str) -> str:
    if len(LINK_RE.findall(text)) > settings.comment_max_links:
        return CommentStatus.SPAM
    mode = settings.comment_moderation
    if mode == "none":
        return CommentStatus.APPROVED
    if mode == "first":
        known = select(Comment.id).where(
            Comment.reader == reader, Comment.status == CommentStatus.APPROVED
        )
        if session.exec(known.limit(1)).first() is not None:
            return CommentStatus.APPROVED
    return CommentStatus.PENDING


def post_comment(
    session: Session, settings: Settings, piece_id: int, visitor: Visitor, given: CommentInput
) -> Comment:
    """Store a reader's comment: approved, held for moderation, or held as spam."""
    name, body = _clean(given, settings)
    parent_id = _parent(session, piece_id, given.parent_id)
    _refuse_duplicate(session, piece_id, visitor.reader, body)
    comment = Comment(
        piece_id=piece_id,
        parent_id=parent_id,
        reader=visitor.reader,
        name=name,
        body=body,
        html=render_comment(body),
        status=_initial_status(session, settings, visitor.reader, f"{name}\n{body}"),
        ip_hash=visitor.network,
    )
    session.add(comment)
    session.flush()
    return comment


@dataclass
class Shown:
    """An approved comment as the page shows it, with its replies (one level deep)."""

    id: int
    name: str
    html: str
    created_at: datetime
    replies: list[Shown] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "html": self.html,
            "created_at": clock.to_utc(self.created_at).isoformat(),
            "replies": [r.as_json() for r in self.replies],
        }


_THREAD_COLUMNS = ("id", "piece_id", "parent_id", "name", "html", "created_at")


def approved_threads(session: Session, piece_ids: list[int]) -> dict[int, list[Shown]]:
    """Each piece's approved comments, oldest first, replies under the comment they answer."""
    rows = session.connection().execute(  # Core: pages ask for this on every view
        select(*(getattr(Comment, name) for name in _THREAD_COLUMNS))
        .where(col(Comment.piece_id).in_(piece_ids), Comment.status == CommentStatus.APPROVED)
        .order_by(col(Comment.created_at), col(Comment.id))
    )
    threads: dict[int, list[Shown]] = defaultdict(list)
    by_id: dict[int, Shown] = {}
    for row in rows:
        assert row.id is not None
        shown = Shown(row.id, row.name, row.html, row.created_at)
        parent = by_id.get(row.parent_id) if row.parent_id else None
        if parent is not None:
            parent.replies.append(shown)
        elif row.parent_id is None:
            by_id[row.id] = shown
            threads[row.piece_id].append(shown)
    return threads


@dataclass
class Widget:
    """Everything the piece page's feedback block shows."""

    summary: RatingSummary
    comments: list[Shown]
    api: str  # where the widget's forms post: "" for the site itself, or an absolute base URL
    moderation: str

    @property
    def comment_count(self) -> int:
        return sum(1 + len(c.replies) for c in self.comments)


def api_base(settings: Settings) -> str:
    """The feedback API's base URL for pages, with a trailing slash; "" for the site itself."""
    url = settings.feedback_api_url.strip()
    return url if not url or url.endswith("/") else url + "/"


def widgets(
    session: Session,
    settings: Settings,
    piece_ids: list[int],
    having: Collection[int] | None = None,
) -> dict[int, Widget]:
    """The feedback block of each piece, in two queries; when `having` names the pieces with
    any feedback (as `fingerprints` finds them), only those are looked up."""
    asked = piece_ids if having is None else [pid for pid in piece_ids if pid in having]
    stars = distributions(session, asked) if asked else {}
    threads = approved_threads(session, asked) if asked else {}
    base, mode = api_base(settings), settings.comment_moderation
    return {
        pid: Widget(summarise(stars.get(pid, {}), settings), threads.get(pid, []), base, mode)
        for pid in piece_ids
    }


def fingerprints(session: Session) -> dict[int, str]:
    """Per piece with any feedback, a digest of what its page shows of it (for the export)."""
    shown: dict[int, list] = defaultdict(list)
    for piece_id, distribution in distributions(session).items():
        shown[piece_id].append(sorted(distribution.items()))
    approved = session.exec(
        select(Comment.piece_id, Comment.id)
        .where(Comment.status == CommentStatus.APPROVED)
        .order_by(col(Comment.piece_id), col(Comment.id))
    )
    for piece_id, comment_id in approved:
        shown[piece_id].append(comment_id)
    return {
        pid: hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()
        for pid, parts in shown.items()
    }
