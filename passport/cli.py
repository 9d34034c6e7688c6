"""The `dpp` command line; the same commands work as `flask --app passport …`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlmodel import Session

from passport import db
from passport.core.errors import PassportError
from passport.services import orgs, tokens
from passport.services.context import ServiceContext


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _session() -> Session:
    return Session(db.engine(), expire_on_commit=False)


def _ctx() -> ServiceContext:
    context: ServiceContext = current_app.extensions["passport.services"]
    return context


def _fail(error: PassportError) -> None:
    message = error.detail
    for field, problems in error.errors.items():
        message += f"\n  {field}: {'; '.join(problems)}"
    raise click.ClickException(message)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema."""
    from passport import passphrase_warning

    warning = passphrase_warning(current_app)
    if warning:
        click.secho(warning, fg="red", err=True)
    from passport.setup import initialise

    added = initialise(current_app)
    if added:
        click.echo(f"logged {added} entries that predate the ledger", err=True)
    click.echo(f"database ready: {db.engine().url.render_as_string(hide_password=True)}", err=True)


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
    with _session() as sess:
        try:
            org = orgs.create_organisation(
                sess, _ctx(), slug=slug, name=name, roles=roles, at=_now(), **where
            )
        except PassportError as exc:
            _fail(exc)
    click.echo(f"created {org.slug} ({', '.join(sorted(org.roles))})", err=True)


@org_group.command("list")
@with_appcontext
def org_list() -> None:
    """List organisations and their roles."""
    with _session() as sess:
        for org in orgs.list_organisations(sess):
            click.echo(f"{org.slug}\t{org.name}\t{','.join(sorted(org.roles))}")


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.argument("slug")
@click.option("--label", default="", help="What the token is for")
@with_appcontext
def token_create(slug: str, label: str) -> None:
    """Print a new API token for SLUG (shown once, stored only as a hash)."""
    with _session() as sess:
        try:
            click.echo(tokens.create_token(sess, slug, label=label, at=_now()))
        except PassportError as exc:
            _fail(exc)


@token_group.command("list")
@click.argument("slug")
@with_appcontext
def token_list(slug: str) -> None:
    """List the tokens of SLUG (ids and labels, never the secrets)."""
    with _session() as sess:
        try:
            for info in tokens.list_tokens(sess, slug):
                state = f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "active"
                click.echo(f"{info.id}\t{info.created_at:%Y-%m-%d}\t{state}\t{info.label}")
        except PassportError as exc:
            _fail(exc)


@token_group.command("revoke")
@click.argument("slug")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(slug: str, token_id: int) -> None:
    """Revoke token TOKEN_ID of SLUG."""
    with _session() as sess:
        try:
            tokens.revoke_token(sess, slug, token_id, at=_now())
        except PassportError as exc:
            _fail(exc)
    click.echo(f"revoked token {token_id} of {slug}", err=True)


@click.group("key")
def key_group() -> None:
    """Manage organisation signing keys."""


@key_group.command("rotate")
@click.argument("slug")
@with_appcontext
def key_rotate(slug: str) -> None:
    """Retire SLUG's current key (it stays in the DID document) and create a new one."""
    with _session() as sess:
        try:
            key_id = orgs.rotate_key(sess, _ctx(), slug, at=_now())
        except PassportError as exc:
            _fail(exc)
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
    with _session() as sess:
        try:
            index = orgs.revoke_key(
                sess, _ctx(), slug, key_id, compromised_since=compromised_since, at=_now()
            )
        except PassportError as exc:
            _fail(exc)
    click.echo(f"revoked {key_id} at ledger index {index}", err=True)


@key_group.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--password-env", help="Environment variable holding the file's password")
@with_appcontext
def key_import(slug: str, file: Path, password_env: str | None) -> None:
    """Make an existing PKCS#8 Ed25519 key SLUG's current key (weak keys are refused)."""
    password = os.environ[password_env].encode() if password_env else None
    with _session() as sess:
        try:
            key_id = orgs.import_key(sess, _ctx(), slug, file.read_bytes(), password, at=_now())
        except PassportError as exc:
            _fail(exc)
    click.echo(key_id)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The manufacturer issuing the passports")
@with_appcontext
def import_command(file: Path, slug: str) -> None:
    """Issue passports from a CSV or JSON file, all or nothing, with a progress bar."""
    from passport.cli_import import run_import

    run_import(file, slug)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Processes")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per process")
@click.option("--demo", is_flag=True, help="Load demo organisations and passports first")
def serve_command(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    """Run the service with gunicorn (migrating the database first)."""
    # The app that serves is built anew in each worker (see passport.serve); this one only
    # migrates and loads the demo data.
    from passport import create_app, passphrase_warning
    from passport.serve import serve

    if not os.environ.get("DPP_BASE_URL"):
        # Identifiers and DIDs must name where the service really listens.
        os.environ["DPP_BASE_URL"] = f"http://{host}:{port}"
    app = create_app()
    with app.app_context():
        warning = passphrase_warning(app)
        if warning:
            click.secho(warning, fg="red", err=True)
        from passport.setup import check_startup, initialise

        initialise(app)
        try:
            check_startup(app)
        except PassportError as exc:
            raise click.ClickException(f"refusing to serve: {exc.detail}") from None
        if demo:
            from passport.services.demo import load_demo

            with _session() as sess:
                click.echo(load_demo(sess, _ctx(), at=_now()), err=True)
        # Workers are forked: they must not inherit the master's pooled connections.
        db.engine().dispose()
    serve(create_app, host=host, port=port, workers=workers, threads=threads)


def init_app(app: Flask) -> None:
    """Attach the commands to `app.cli` (so `flask --app passport` has them too)."""
    from passport.cli_ledger import audit_command, log_key_command, verify_command

    commands = (
        init_command,
        org_group,
        token_group,
        key_group,
        import_command,
        serve_command,
        log_key_command,
        audit_command,
        verify_command,
    )
    for command in commands:
        app.cli.add_command(command)


def main() -> None:
    """Run the `dpp` console script."""
    from passport import create_app
    from passport.cli_ledger import verify_command

    group = FlaskGroup(create_app=create_app, add_default_commands=False, add_version_option=False)
    # A command of the group itself loads no app: `dpp verify` needs no database or config.
    group.add_command(verify_command)
    group(prog_name="dpp")
