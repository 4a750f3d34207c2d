"""Team sign-in: accounts, tokens, sessions, CSRF, throttling, and the users commands."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.main import create_app
from editorial import auth
from editorial.auth import AuthError
from editorial.cli import app as cli
from editorial.models import ApiToken, LoginSession, User
from editorial.settings import Settings

PASSWORD = "correct horse battery"
runner = CliRunner()


@pytest.fixture
def editor(engine: Engine) -> User:
    with Session(engine) as session:
        user = auth.create_user(session, "Ada Editor", "Ada@Example.com", "editor", PASSWORD)
        session.commit()
        session.refresh(user)
        return user


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/editor/"):
    form = client.get("/editor/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"email": email, "password": password, "csrf_token": token, "next": next_path}
    return client.post("/editor/login", data=data, follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/editor/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_passwords_are_hashed_and_addresses_normalised(editor: User) -> None:
    assert editor.email == "ada@example.com"
    assert editor.password_hash and editor.password_hash.startswith("$argon2id$")
    assert PASSWORD not in editor.password_hash


@pytest.mark.parametrize(
    ("name", "email", "role", "password", "message"),
    [
        ("Bo", "bo@example.com", "admin", PASSWORD, "Unknown role 'admin'"),
        ("Bo", "not-an-address", "editor", PASSWORD, "e-mail address"),
        ("Bo", "bo@example.com", "editor", "short", "at least 10 characters"),
        ("Bo", "ADA@example.com", "editor", PASSWORD, "ada@example.com already has an account"),
    ],
)
def test_bad_accounts_are_refused(
    engine: Engine, editor: User, name: str, email: str, role: str, password: str, message: str
) -> None:
    with Session(engine) as session, pytest.raises(AuthError, match=message):
        auth.create_user(session, name, email, role, password)


def test_tokens_are_stored_only_as_digests(engine: Engine, editor: User) -> None:
    with Session(engine) as session:
        token = auth.issue_token(session, editor)
        session.commit()
        stored = session.exec(select(ApiToken.token_hash)).one()
        assert stored == auth.digest(token) != token
        assert auth.user_for_token(session, token).id == editor.id
        assert auth.user_for_token(session, token + "x") is None


def test_dashboard_requires_sign_in(client: TestClient) -> None:
    response = client.get("/editor/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/editor/login?next=/editor/"


def test_sign_in_sets_a_safe_cookie_and_opens_the_dashboard(
    client: TestClient, editor: User
) -> None:
    response = sign_in(client, "ada@example.com")
    assert response.status_code == 303 and response.headers["location"] == "/editor/"
    cookie = response.headers["set-cookie"]
    assert "editorial_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/editor/")
    assert page.status_code == 200
    assert "Ada Editor (editor)" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_refuses_wrong_passwords_and_unknown_addresses_alike(
    client: TestClient, editor: User
) -> None:
    wrong = sign_in(client, "ada@example.com", "wrong password!")
    unknown = sign_in(client, "nobody@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "do not match an account" in response.text
        assert "editorial_session" not in response.headers.get("set-cookie", "")
    # the form came back empty: the address had to be typed again
    assert 'autocomplete="username" value="nobody@example.com"' in unknown.text


def test_sign_in_form_needs_its_csrf_token(client: TestClient, editor: User) -> None:
    client.get("/editor/login")
    data = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": "forged"}
    response = client.post("/editor/login", data=data, follow_redirects=False)
    assert response.status_code == 400
    assert "form expired" in response.text


def test_failed_sign_ins_are_throttled_even_with_the_right_password(
    client: TestClient, editor: User
) -> None:
    for _ in range(auth.LOGIN_FAILURES):
        assert sign_in(client, "ada@example.com", "wrong password!").status_code == 401
    blocked = sign_in(client, "ada@example.com")
    assert blocked.status_code == 401
    assert "Too many failed sign-ins" in blocked.text


def test_sign_ins_through_a_trusted_proxy_are_throttled_per_person(
    settings: Settings, engine: Engine, editor: User
) -> None:
    """The network counted was the proxy's own address: five wrong passwords from one person
    behind it kept everyone else out for 15 minutes."""
    proxied = settings.model_copy(update={"trusted_proxies": "10.0.0.5"})
    with Session(engine) as session:
        auth.create_user(session, "Bo Writer", "bo@example.com", "contributor", PASSWORD)
        session.commit()
    with TestClient(create_app(proxied), client=("10.0.0.5", 50000)) as client:
        client.headers["X-Forwarded-For"] = "203.0.113.7"
        for _ in range(auth.LOGIN_FAILURES):
            assert sign_in(client, "someone@example.com", "guessing").status_code == 401
        assert "Too many failed sign-ins" in sign_in(client, "bo@example.com").text
        client.headers["X-Forwarded-For"] = "198.51.100.9"
        assert sign_in(client, "bo@example.com").status_code == 303


def test_next_only_leads_back_into_the_dashboard(client: TestClient, editor: User) -> None:
    assert sign_in(client, "ada@example.com", next_path="//evil.example/").headers["location"] == (
        "/editor/"
    )
    client.cookies.clear()
    assert sign_in(client, "ada@example.com", next_path="/editor/calendar").headers["location"] == (
        "/editor/calendar"
    )


def test_cookies_are_secure_when_the_site_is_https_behind_a_proxy(
    settings: Settings, engine: Engine, editor: User
) -> None:
    """A proxy that ends TLS passes plain HTTP on; the session cookie of an https site lacked
    Secure, so a browser would also send it over plain HTTP."""
    public = settings.model_copy(update={"base_url": "https://insights.corp.example/"})
    with TestClient(create_app(public)) as client:
        form = client.get("/editor/login")
        assert "Secure" in form.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        data = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
        cookie = {"Cookie": f"editorial_login_csrf={token}"}  # not sent back over http
        signed = client.post("/editor/login", data=data, headers=cookie, follow_redirects=False)
    assert signed.status_code == 303
    [session] = [c for c in signed.headers.get_list("set-cookie") if "editorial_session=" in c]
    assert "Secure" in session and "HttpOnly" in session


def test_sign_out_needs_csrf_and_ends_the_session_everywhere(
    client: TestClient, engine: Engine, editor: User
) -> None:
    sign_in(client, "ada@example.com")
    forged = client.post("/editor/logout", data={"csrf_token": "nope"}, follow_redirects=False)
    assert forged.status_code == 403
    stolen_cookie = client.cookies.get("editorial_session")
    done = client.post(
        "/editor/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/editor/login"
    with Session(engine) as session:
        assert session.exec(select(LoginSession)).all() == []
    client.cookies.set("editorial_session", stolen_cookie)
    assert client.get("/editor/", follow_redirects=False).status_code == 303


def test_signing_in_again_ends_the_browsers_earlier_session(
    client: TestClient, engine: Engine, editor: User
) -> None:
    """Signing in over a session (someone else at the same browser) left the earlier session
    working for its whole lifetime, for whoever had kept a copy of its cookie."""
    sign_in(client, "ada@example.com")
    earlier = client.cookies.get("editorial_session")
    assert sign_in(client, "ada@example.com").status_code == 303
    with Session(engine) as session:
        assert len(session.exec(select(LoginSession)).all()) == 1
    client.cookies.clear()
    client.cookies.set("editorial_session", earlier)
    assert client.get("/editor/", follow_redirects=False).status_code == 303


def test_signing_out_of_an_ended_session_goes_straight_to_the_sign_in_form(
    client: TestClient, editor: User
) -> None:
    """Sign out, pressed once the session had ended elsewhere, asked for a sign-in first and
    then led back into the dashboard."""
    sign_in(client, "ada@example.com")
    token = page_csrf(client)
    other = TestClient(client.app, cookies=dict(client.cookies))
    assert other.post("/editor/logout", data={"csrf_token": token}).status_code == 200
    pressed = client.post(
        "/editor/logout",
        data={"csrf_token": token},
        headers={"Referer": "http://testserver/editor/"},
        follow_redirects=False,
    )
    assert pressed.status_code == 303 and pressed.headers["location"] == "/editor/login"


def test_bearer_tokens_sign_in_api_callers(
    client: TestClient, engine: Engine, editor: User
) -> None:
    with Session(engine) as session:
        token = auth.issue_token(session, session.get(User, editor.id))
        session.commit()
    assert client.get("/editor/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    anonymous = client.get("/editor/", headers={"Authorization": "Bearer nope"})
    assert anonymous.history and anonymous.history[0].status_code == 303


def test_expired_sessions_stop_working(
    client: TestClient, editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, "ada@example.com")
    later = auth.clock.now() + auth.SESSION_LIFETIME
    monkeypatch.setattr(auth.clock, "now", lambda: later)
    assert client.get("/editor/", follow_redirects=False).status_code == 303


def test_a_form_posted_after_the_session_ended_leads_back_to_its_page(
    client: TestClient, editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing in went on to the form's own address, which answers only POST: a 405."""
    sign_in(client, "ada@example.com")
    form = "http://testserver/editor/calendar?view=week&date=2026-06-01"
    later = auth.clock.now() + auth.SESSION_LIFETIME
    monkeypatch.setattr(auth.clock, "now", lambda: later)
    posted = client.post(
        "/editor/calendar/reschedule",
        data={"slug": "x", "lane": "due", "version": "1", "date": "2026-06-02"},
        headers={"Referer": form},
        follow_redirects=False,
    )
    back = "/editor/calendar?view=week&date=2026-06-01"
    assert posted.headers["location"] == f"/editor/login?next={quote(back)}"
    again = sign_in(client, "ada@example.com", next_path=back)
    assert again.headers["location"] == back and client.get(back).status_code == 200
    client.cookies.clear()
    asked = client.get("/editor/gaps?topic=cloud", follow_redirects=False)
    assert asked.headers["location"] == f"/editor/login?next={quote('/editor/gaps?topic=cloud')}"


def test_users_commands(settings: Settings) -> None:
    added = runner.invoke(
        cli,
        [
            "users",
            "add",
            "Kofi Mensah",
            "kofi@example.com",
            "--role",
            "contributor",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "Added Kofi Mensah <kofi@example.com> as contributor." in added.output
    again = runner.invoke(
        cli, ["users", "add", "K", "kofi@example.com", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert again.exit_code == 1 and "already has an account" in again.output
    token = runner.invoke(cli, ["users", "token", "kofi@example.com"])
    assert token.exit_code == 0 and token.output.startswith("ed_")
    assert runner.invoke(cli, ["users", "token", "no@example.com"]).exit_code == 1
    listed = runner.invoke(cli, ["users", "list"])
    assert "kofi@example.com\tcontributor\tKofi Mensah" in listed.output


@pytest.mark.parametrize(
    ("name", "email", "problem"),
    [
        ("N" * 201, "n@example.com", "The name is longer than 200 characters."),
        ("Long", "a" * 320 + "@example.com", "The e-mail address is longer than 320 characters."),
        ("Bad\x1bName", "b@example.com", "The name contains a control character (U+001B)"),
    ],
)
def test_users_add_refuses_what_the_store_cannot_hold(
    settings: Settings, name: str, email: str, problem: str
) -> None:
    """PostgreSQL refused an over-long value with a traceback (printing the password hash);
    SQLite stored it. A terminal escape in a name reached every listing."""
    command = ["users", "add", name, email, "--password-stdin"]
    added = runner.invoke(cli, command, input=PASSWORD + "\n")
    assert added.exit_code == 1, added.output
    assert problem in added.output and "argon2" not in added.output
    assert runner.invoke(cli, ["users", "list"]).output == ""


@pytest.mark.parametrize("given", ["", "\n"])
def test_users_add_refuses_an_empty_password_on_stdin(settings: Settings, given: str) -> None:
    """A script that pipes nothing in must not make an account nobody can sign in to."""
    command = ["users", "add", "Kofi", "kofi@example.com", "--password-stdin"]
    added = runner.invoke(cli, command, input=given)
    assert added.exit_code == 1, added.output
    assert "No password on standard input" in added.output
    assert runner.invoke(cli, ["users", "list"]).output == ""
