"""`editorial users`: team members and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from editorial.clitools import fail, load_settings, open_store

users_app = typer.Typer(help="Manage editors and contributors.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    """The first line of standard input, or the password asked for twice. Empty input is an
    error: the account would have no password, and nobody could sign in to it."""
    if not from_stdin:
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("No password on standard input: give it on the first line (at least 10 characters).")
        raise typer.Exit(1)
    return password


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The person's name, as bylines show it.")],
    email: Annotated[str, typer.Argument(help="Their e-mail address; also their sign-in.")],
    role: Annotated[str, typer.Option(help="editor or contributor.")] = "contributor",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a team member with a password (asked for, or read from standard input)."""
    from editorial.auth import AuthError, create_user
    from editorial.db import session_scope

    password = _read_password(password_stdin)
    try:
        with open_store(load_settings()) as engine, session_scope(engine) as session:
            user = create_user(session, name, email, role, password)
            summary = f"Added {user.name} <{user.email}> as {user.role}."
    except AuthError as error:
        fail(f"{error}")
        raise typer.Exit(1) from None
    typer.echo(summary)


@users_app.command("token")
def token(email: Annotated[str, typer.Argument(help="Whose token.")]) -> None:
    """Print a new API token for a team member; it is shown once and stored only hashed."""
    from editorial.auth import find_user, issue_token
    from editorial.db import session_scope

    with open_store(load_settings()) as engine, session_scope(engine) as session:
        user = find_user(session, email)
        secret = issue_token(session, user) if user else None
    if secret is None:
        fail(f"No active account has the address {email}.")
        raise typer.Exit(1)
    typer.echo(secret)


@users_app.command("list")
def list_users() -> None:
    """List team members and their roles."""
    from sqlmodel import Session, select

    from editorial.models import User

    with open_store(load_settings()) as engine, Session(engine) as session:
        rows = session.exec(select(User).order_by(User.email)).all()
    for user in rows:
        state = "" if user.active else " (inactive)"
        typer.echo(f"{user.email}\t{user.role}\t{user.name}{state}")
