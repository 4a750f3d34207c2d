"""Who a reader is, without accounts or third parties, and how hard they may push.

A reader is a random id carried in a signed first-party cookie. The store keeps only a digest
of that id. A client address is never stored: only a salted, truncated hash of its network,
used for rate limits and abuse review and dropped after the retention period.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import Session

from editorial.db import upsert_insert
from editorial.limits import hit_all
from editorial.models import StoreState
from editorial.settings import Settings

READER_COOKIE = "editorial_reader"
READER_COOKIE_AGE = timedelta(days=365)
SECRET_KEY_STATE = "secret_key"
IP_HASH_CHARS = 16  # 64 bits: enough to tell abusers apart, too few to be an address book
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


class Limited(Exception):
    """A reader or network has used up a rate limit; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Keys:
    """Secrets derived from the one signing key: one for cookies, one to salt address hashes."""

    cookie: bytes
    address_salt: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Keys:
        root = secret.encode()
        derive = lambda label: hmac.new(root, label, hashlib.sha256).digest()  # noqa: E731
        return cls(derive(b"reader-cookie"), derive(b"address-hash"))


def signing_secret(engine: Engine, settings: Settings) -> str:
    """EDITORIAL_SECRET_KEY, or the store's own key, made once so that every process agrees."""
    if settings.secret_key:
        return settings.secret_key
    with Session(engine) as session:
        insert = upsert_insert(session.get_bind().dialect.name)
        candidate = secrets.token_urlsafe(32)
        session.execute(
            insert(StoreState)
            .values(key=SECRET_KEY_STATE, value=candidate)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        session.commit()
        row = session.get(StoreState, SECRET_KEY_STATE)
        assert row is not None
        return row.value


@dataclass(frozen=True)
class Reader:
    """The reader behind a request: stored key, cookie to (re)send, and whether they are new."""

    key: str
    cookie: str
    new: bool


def _sign(keys: Keys, reader_id: str) -> str:
    return hmac.new(keys.cookie, reader_id.encode(), hashlib.sha256).hexdigest()[:32]


def reader_from_cookie(keys: Keys, cookie: str | None) -> Reader:
    """The reader a valid cookie names, or a brand-new reader when it is absent or forged."""
    reader_id, _, signature = (cookie or "").partition(".")
    if reader_id and signature and hmac.compare_digest(signature, _sign(keys, reader_id)):
        return Reader(_reader_key(reader_id), cookie or "", new=False)
    return new_reader(keys)


def new_reader(keys: Keys) -> Reader:
    """A reader with a fresh random id and the signed cookie that carries it."""
    reader_id = secrets.token_urlsafe(18)
    return Reader(_reader_key(reader_id), f"{reader_id}.{_sign(keys, reader_id)}", new=True)


def _reader_key(reader_id: str) -> str:
    return hashlib.sha256(reader_id.encode()).hexdigest()


@cache
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    parts = [p.strip() for p in spec.replace(";", ",").split(",") if p.strip()]
    return tuple(ipaddress.ip_network(p, strict=False) for p in parts)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: str, proxies: str) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in _networks(proxies))


def client_address(peer: str | None, forwarded_for: str | None, settings: Settings) -> str:
    """The client's address: the peer, or the nearest untrusted hop named by trusted proxies."""
    address = peer or "unknown"
    if not forwarded_for or not _trusted(address, settings.trusted_proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not _trusted(hop, settings.trusted_proxies):
            break
    return address


def network_hash(keys: Keys, address: str) -> str:
    """A salted, truncated hash of the client's network: the address (IPv4) or its /64 (IPv6)."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        address = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    elif isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        address = str(parsed.ipv4_mapped)
    digest = hmac.new(keys.address_salt, address.encode(), hashlib.sha256).hexdigest()
    return digest[:IP_HASH_CHARS]


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased; empty for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(settings: Settings) -> set[str]:
    """Origins whose pages may post feedback: the site, the feedback API, and the allow-list."""
    listed = [o for o in settings.feedback_origins.replace(";", ",").split(",") if o.strip()]
    origins = {origin_of(u) for u in [settings.base_url, settings.feedback_api_url, *listed]}
    return origins - {""}


def check_limits(
    session: Session, settings: Settings, reader: Reader, network: str, kind: str
) -> None:
    """Count one write by `reader` from `network`; raise Limited when any limit is used up."""
    rules = [
        (f"fb-reader:{reader.key}", settings.reader_writes_per_minute, MINUTE, "from you"),
        (f"fb-net:{network}", settings.network_writes_per_hour, HOUR, "from your network"),
    ]
    if kind == "comment":
        rules.append(
            (f"fb-comment:{reader.key}", settings.reader_comments_per_hour, HOUR, "from you")
        )
    if reader.new:
        limit = settings.network_new_readers_per_hour
        rules.append((f"fb-new:{network}", limit, HOUR, "from new readers on your network"))
    counts = hit_all(session, [(key, window) for key, _limit, window, _whose in rules])
    for key, limit, window, whose in rules:
        if counts[key] > limit:
            minutes = max(1, int(window.total_seconds()) // 60)
            raise Limited(
                f"Too many ratings and comments {whose} just now; try again in "
                f"{minutes} minute{'s' if minutes > 1 else ''}.",
                int(window.total_seconds()),
            )
