"""`dpp org` and `dpp token`: organisations and their API tokens."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from passport.cli.common import fail, now, services, session, table
from passport.core.errors import PassportError
from passport.services.orgs import organisations, tokens


@click.group("org")
def org_group() -> None:
    """Manage organisations."""


@org_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name")
@click.option("--role", "roles", multiple=True, required=True, help="Role; repeat for several")
@click.option("--country", default="NL", show_default=True)
@click.option("--province")
@click.option("--municipality")
@click.option("--gln", help="GS1 Global Location Number (13 digits)")
@with_appcontext
def org_create(slug: str, name: str, roles: tuple[str, ...], **where: Any) -> None:
    """Register an organisation and create its signing key."""
    with session() as sess:
        try:
            org = organisations.create_organisation(
                sess, services(), slug=slug, name=name, roles=roles, at=now(), **where
            )
        except PassportError as exc:
            fail(exc)
    click.echo(f"created {org.slug} ({', '.join(sorted(org.roles))})", err=True)


@org_group.command("list")
@with_appcontext
def org_list() -> None:
    """List organisations and their roles."""
    with session() as sess:
        rows = [
            (org.slug, org.name, ", ".join(sorted(org.roles)))
            for org in organisations.list_organisations(sess)
        ]
    click.echo(table(("SLUG", "NAME", "ROLES"), rows))


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.argument("slug")
@click.option("--label", default="", help="What the token is for")
@with_appcontext
def token_create(slug: str, label: str) -> None:
    """Print a new API token for SLUG (shown once, stored only as a hash)."""
    with session() as sess:
        try:
            click.echo(tokens.create_token(sess, slug, label=label, at=now()))
        except PassportError as exc:
            fail(exc)


@token_group.command("list")
@click.argument("slug")
@with_appcontext
def token_list(slug: str) -> None:
    """List the tokens of SLUG (ids and labels, never the secrets)."""
    with session() as sess:
        try:
            infos = tokens.list_tokens(sess, slug)
        except PassportError as exc:
            fail(exc)
    rows = [
        (
            str(info.id),
            f"{info.created_at:%Y-%m-%d}",
            f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "active",
            info.label,
        )
        for info in infos
    ]
    click.echo(table(("ID", "CREATED", "STATE", "LABEL"), rows))


@token_group.command("revoke")
@click.argument("slug")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(slug: str, token_id: int) -> None:
    """Revoke token TOKEN_ID of SLUG."""
    with session() as sess:
        try:
            tokens.revoke_token(sess, slug, token_id, at=now())
        except PassportError as exc:
            fail(exc)
    click.echo(f"revoked token {token_id} of {slug}", err=True)
