"""Ledger commands: `dpp log-key`, `dpp audit`, `dpp verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from passport.core.errors import PassportError
from passport.services.ledger.publisher import Publisher
from passport.store import db


def _publisher() -> Publisher:
    publisher: Publisher = current_app.extensions["passport.publisher"]
    return publisher


@click.command("log-key")
@with_appcontext
def log_key_command() -> None:
    """Print the log's C2SP verifier key (pin it to verify checkpoints and bundles)."""
    try:
        click.echo(_publisher().key.verifier)
    except PassportError as exc:
        raise click.ClickException(exc.detail) from None


@click.command("audit")
@click.option("--workers", type=int, help="Processes verifying signatures (default: all cores)")
@click.option(
    "--restricted-signatures",
    is_flag=True,
    help="Also verify the signature of every restricted credential (each is always checked "
    "against the digest its verified public credential logs).",
)
@with_appcontext
def audit_command(workers: int | None, restricted_signatures: bool) -> None:
    """Re-verify the whole stored log; exit 1 naming the first bad entry."""
    from passport.services.ledger.audit.run import audit

    publisher = _publisher()
    with Session(db.engine()) as sess:
        try:
            report = audit(
                sess,
                publisher.key,
                publisher.keys_dir,
                base_url=current_app.config["DPP_BASE_URL"],
                workers=workers,
                restricted_signatures=restricted_signatures,
                progress=lambda what, n: click.echo(f"  {what}: {n}", err=True),
            )
        except PassportError as exc:
            click.echo(f"AUDIT FAILED: {exc.detail}", err=True)
            sys.exit(1)
    click.echo(
        f"audit passed: {report.entries} entries, {report.checkpoints} checkpoints, "
        f"{report.signatures} signatures verified, {report.restricted} restricted credentials "
        f"bound by digest{' and signature' if restricted_signatures else ''}, "
        f"{report.kept_responses} responses kept for retries"
    )


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log-key", required=True, help="The log's verifier key, pinned out of band")
def verify_command(bundle: Path, log_key: str) -> None:
    """Verify an offline bundle: no database, no network; name the first step that fails."""
    from passport.core.lifecycle.bundle import BundleInvalid, verify_bundle_bytes

    try:
        history = verify_bundle_bytes(bundle.read_bytes(), log_key=log_key)
    except BundleInvalid as exc:
        click.echo(f"NOT VERIFIED at step {exc.detail}", err=True)
        sys.exit(1)
    click.echo(
        f"verified: {history.passport}: {len(history.versions)} version(s) and "
        f"{len(history.events)} event(s) in a checkpoint of size {history.tree_size}, "
        f"{history.state.describe()}; restricted tiers checked: "
        f"{', '.join(sorted(history.restricted_tiers)) or 'none'}"
    )
