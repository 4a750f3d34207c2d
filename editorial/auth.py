"""People, passwords, API tokens and browser sessions. No default account exists.

Secrets handed to people (API tokens, session cookies) are random; the store keeps only their
SHA-256, so a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from editorial import clock, limits
from editorial.models import API_SCOPE, ApiToken, LoginSession, Role, User
from editorial.plaindata import control_character

SESSION_LIFETIME = timedelta(days=14)
# Failed sign-ins allowed per address and per network in one window.
LOGIN_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)
_hasher = PasswordHasher()
# Verified against when the address is unknown, so that a wrong address costs as much as a
# wrong password and timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AuthError(ValueError):
    """A request about people that cannot be carried out, with a message a person can act on."""


@dataclass(frozen=True)
class SignedIn:
    """Who is calling, how they proved it, and the CSRF token their forms must carry."""

    user: User
    csrf_token: str = ""
    via: str = "cookie"  # or "token": a bearer token, which a browser never sends by itself


def digest(secret: str) -> str:
    """The SHA-256 under which a secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    if len(password) < 10:
        raise AuthError("A password needs at least 10 characters.")
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    """The form an address is stored and looked up in."""
    return email.strip().lower()


def create_user(session: Session, name: str, email: str, role: str, password: str | None) -> User:
    """A new team member; the address must be new and the role known."""
    email = normalise_email(email)
    if "@" not in email or not name.strip():
        raise AuthError("Give a name and an e-mail address such as ada@example.com.")
    _check_fits(name.strip(), email)
    if role not in set(Role):
        raise AuthError(f"Unknown role {role!r}: use editor or contributor.")
    if session.exec(select(User).where(User.email == email)).first():
        raise AuthError(f"{email} already has an account.")
    user = User(name=name.strip(), email=email, role=role)
    user.password_hash = hash_password(password) if password else None
    session.add(user)
    session.flush()
    return user


def _check_fits(name: str, email: str) -> None:
    """A name and address the store can hold on every database (PostgreSQL refuses a value
    longer than its column), without characters that pages and terminals cannot show."""
    columns = User.__table__.c  # type: ignore[attr-defined]
    for label, column, value in (("name", "name", name), ("e-mail address", "email", email)):
        if len(value) > columns[column].type.length:
            raise AuthError(f"The {label} is longer than {columns[column].type.length} characters.")
        if problem := control_character(value):
            raise AuthError(f"The {label} {problem}.")


def find_user(session: Session, email: str) -> User | None:
    """The active user with this address, if any."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    return user if user and user.active else None


def issue_token(session: Session, user: User, scope: str = API_SCOPE) -> str:
    """A new token for `user` (for the API, or `FEED_SCOPE`: for their ICS feed only),
    returned once; only its digest is stored."""
    token = "ed_" + secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(ApiToken(user_id=user.id, token_hash=digest(token), scope=scope))
    session.flush()
    return token


def user_for_token(
    session: Session, token: str, scopes: tuple[str, ...] = (API_SCOPE,)
) -> User | None:
    """The active user a token belongs to, when the token has one of `scopes`."""
    statement = (
        select(User)
        .join(ApiToken)
        .where(ApiToken.token_hash == digest(token), col(ApiToken.scope).in_(scopes))
    )
    user = session.exec(statement).first()
    return user if user and user.active else None


def authenticate(session: Session, email: str, password: str, network: str) -> User:
    """The user whose address and password these are; throttled per address and network."""
    keys = (f"login:{normalise_email(email)}", f"login-net:{network}")
    if any(limits.count(session, key, LOGIN_WINDOW) >= LOGIN_FAILURES for key in keys):
        raise AuthError("Too many failed sign-ins; wait 15 minutes and try again.")
    user = find_user(session, email)
    if _password_matches(user.password_hash if user else None, password) and user:
        return user
    for key in keys:
        limits.hit(session, key, LOGIN_WINDOW)
    raise AuthError("That e-mail address and password do not match an account.")


def _password_matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def start_session(session: Session, user: User) -> tuple[str, SignedIn]:
    """A new browser session: the cookie value to hand out, and the signed-in state."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    assert user.id is not None
    expires = clock.now() + SESSION_LIFETIME
    session.add(
        LoginSession(id=digest(secret), user_id=user.id, csrf_token=csrf, expires_at=expires)
    )
    session.flush()
    return secret, SignedIn(user, csrf)


def resume_session(session: Session, secret: str) -> SignedIn | None:
    """The signed-in state behind a session cookie, if it is valid and unexpired."""
    row = session.get(LoginSession, digest(secret))
    if row is None or clock.to_utc(row.expires_at) <= clock.now():
        return None
    user = session.get(User, row.user_id)
    return SignedIn(user, row.csrf_token) if user and user.active else None


def end_session(session: Session, secret: str) -> None:
    """Sign out: the session cookie stops working everywhere at once."""
    session.exec(delete(LoginSession).where(col(LoginSession.id) == digest(secret)))


def purge_sessions(session: Session) -> int:
    """Remove expired sessions; returns how many."""
    result = session.exec(delete(LoginSession).where(col(LoginSession.expires_at) <= clock.now()))
    return result.rowcount or 0
