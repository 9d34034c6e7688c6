"""`dpp key`: an organisation's signing keys (list, rotate, import, revoke)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import with_appcontext

from passport.cli.common import fail, now, services, session, table
from passport.core.errors import PassportError
from passport.core.signing.did import signing_method
from passport.services.orgs import keys as orgkeys
from passport.services.orgs import organisations


@click.group("key")
def key_group() -> None:
    """Manage organisation signing keys."""


@key_group.command("list")
@click.argument("slug")
@with_appcontext
def key_list(slug: str) -> None:
    """List SLUG's keys, oldest first, as its DID document names them."""
    with session() as sess:
        try:
            org = organisations.get_organisation(sess, slug)
            keys = orgkeys.published_keys(sess, org.id)
        except PassportError as exc:
            fail(exc)
    base_url = services().base_url
    rows = [
        (
            key.key_id,
            f"revoked {key.revoked}" if key.revoked else "retired" if key.retired else "current",
            signing_method(base_url, slug, key.key_id)[1],
        )
        for key in keys
    ]
    click.echo(table(("KEY ID", "STATE", "VERIFICATION METHOD"), rows))


@key_group.command("rotate")
@click.argument("slug")
@with_appcontext
def key_rotate(slug: str) -> None:
    """Retire SLUG's current key (it stays in the DID document) and create a new one."""
    with session() as sess:
        try:
            key_id = orgkeys.rotate_key(sess, services(), slug, at=now())
        except PassportError as exc:
            fail(exc)
    click.echo(key_id)


@key_group.command("revoke")
@click.argument("slug")
@click.argument("key_id")
@click.option(
    "--compromised-since",
    type=int,
    help="Ledger index from which signatures by this key are void (default: from now on)",
)
@with_appcontext
def key_revoke(slug: str, key_id: str, compromised_since: int | None) -> None:
    """Revoke KEY_ID of SLUG in the ledger; later (or compromised) signatures stop verifying."""
    with session() as sess:
        try:
            index = orgkeys.revoke_key(
                sess, services(), slug, key_id, compromised_since=compromised_since, at=now()
            )
        except PassportError as exc:
            fail(exc)
    click.echo(f"revoked {key_id} at ledger index {index}", err=True)


@key_group.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--password-env", help="Environment variable holding the file's password")
@with_appcontext
def key_import(slug: str, file: Path, password_env: str | None) -> None:
    """Make an existing PKCS#8 Ed25519 key SLUG's current key (weak keys are refused)."""
    password = os.environ[password_env].encode() if password_env else None
    with session() as sess:
        try:
            key_id = orgkeys.import_key(
                sess, services(), slug, file.read_bytes(), password, at=now()
            )
        except PassportError as exc:
            fail(exc)
    click.echo(key_id)
