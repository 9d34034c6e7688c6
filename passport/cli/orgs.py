"""`dpp org` and `dpp token`: organisations and their API tokens."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from passport.cli.common import fail, now, services, session, table
from passport.core.errors import PassportError
from passport.services.orgs import organisations, prefixes, tokens
from passport.store.tables import OrganisationRow

_GCP_HELP = (
    "GS1 company prefix (4-12 digits; a U.P.C. prefix with its leading 0) the organisation "
    "issues passports under; repeat for several"
)
_GTIN8_HELP = "A whole GTIN-8 the organisation issues under (GTIN-8s have no company prefix)"


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
@click.option("--gcp", "gcps", multiple=True, help=_GCP_HELP)
@click.option("--gtin8", "gtin8s", multiple=True, help=_GTIN8_HELP)
@with_appcontext
def org_create(slug: str, name: str, roles: tuple[str, ...], **where: Any) -> None:
    """Register an organisation and create its signing key.

    A manufacturer issues passports only under its GS1 company prefixes (--gcp), which its
    DID document publishes.
    """
    with session() as sess:
        try:
            org = organisations.create_organisation(
                sess, services(), slug=slug, name=name, roles=roles, at=now(), **where
            )
        except PassportError as exc:
            fail(exc)
        _note_shared(sess, org)
    click.echo(f"created {org.slug} ({', '.join(sorted(org.roles))})", err=True)


@org_group.command("add-prefix")
@click.argument("slug")
@click.option("--gcp", "gcps", multiple=True, help=_GCP_HELP)
@click.option("--gtin8", "gtin8s", multiple=True, help=_GTIN8_HELP)
@with_appcontext
def org_add_prefix(slug: str, gcps: tuple[str, ...], gtin8s: tuple[str, ...]) -> None:
    """Register more GS1 company prefixes (or whole GTIN-8s) for SLUG to issue under."""
    with session() as sess:
        try:
            org = organisations.add_organisation_prefixes(sess, slug, gcps=gcps, gtin8s=gtin8s)
        except PassportError as exc:
            fail(exc)
        _note_shared(sess, org)
    click.echo(f"{org.slug} issues under {_prefixes(org)}", err=True)


def _note_shared(sess: Any, org: organisations.Organisation) -> None:
    """Say on stderr which other organisations hold the same or an overlapping prefix."""
    for prefix in org.prefixes:
        others = prefixes.holders(sess, prefix, besides=org.id)
        if others:
            slugs = sorted(sess.get(OrganisationRow, o).slug for o in others)
            click.echo(
                f"note: {prefixes.shown(prefix)} overlaps prefixes of {', '.join(slugs)}: "
                "each of them may issue under it",
                err=True,
            )


def _prefixes(org: organisations.Organisation) -> str:
    named = sorted((prefixes.shown(p) for p in org.prefixes), key=lambda p: (" " in p, p))
    return ", ".join(named) or "-"


@org_group.command("list")
@with_appcontext
def org_list() -> None:
    """List organisations, their roles and the GS1 prefixes they issue under."""
    with session() as sess:
        rows = [
            (org.slug, org.name, ", ".join(sorted(org.roles)), _prefixes(org))
            for org in organisations.list_organisations(sess)
        ]
    click.echo(table(("SLUG", "NAME", "ROLES", "GS1 PREFIXES"), rows))


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
