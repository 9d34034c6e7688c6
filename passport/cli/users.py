"""`dpp user`: the people who sign in to the web pages for their organisation."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from passport.cli.common import fail, now, session, table
from passport.core.errors import PassportError
from passport.services.orgs import users


@click.group("user")
def user_group() -> None:
    """Manage the people who sign in."""


def _password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice, hidden, at a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise click.ClickException(
            "no terminal to ask for the password on: give it with --password-stdin"
        )
    typed: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@user_group.command("create")
@click.argument("slug")
@click.argument("email")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts)",
)
@with_appcontext
def user_create(slug: str, email: str, from_stdin: bool) -> None:
    """Create a user of organisation SLUG who signs in as EMAIL.

    The password (at least 12 characters) is asked for twice at a terminal, or read with
    --password-stdin; only its argon2id hash is stored.
    """
    password = _password(from_stdin)
    with session() as sess:
        try:
            user = users.create_user(sess, org_slug=slug, email=email, password=password, at=now())
        except PassportError as exc:
            fail(exc)
    click.echo(f"created user {user.email} in {user.org_slug}", err=True)


@user_group.command("list")
@click.argument("slug")
@with_appcontext
def user_list(slug: str) -> None:
    """List the users of organisation SLUG."""
    with session() as sess:
        try:
            found = users.list_users(sess, slug)
        except PassportError as exc:
            fail(exc)
    rows = [
        (u.email, f"{u.created_at:%Y-%m-%d}", "disabled" if u.disabled else "active") for u in found
    ]
    click.echo(table(("EMAIL", "CREATED", "STATE"), rows))


@user_group.command("disable")
@click.argument("email")
@click.option("--enable", is_flag=True, help="Let the user sign in again instead")
@with_appcontext
def user_disable(email: str, enable: bool) -> None:
    """Stop EMAIL signing in (their open sessions end at their next request)."""
    with session() as sess:
        try:
            users.set_disabled(sess, email=email, disabled=not enable)
        except PassportError as exc:
            fail(exc)
    click.echo(f"{'enabled' if enable else 'disabled'} user {users.normal_email(email)}", err=True)
