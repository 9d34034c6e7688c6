"""`dpp import`: bulk issuance from a file, all or nothing, with a progress bar."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from passport.api.bulk import load_envelope
from passport.core import limits
from passport.core.errors import PassportError
from passport.core.product.access import Caller
from passport.services.context import ServiceContext
from passport.services.orgs.organisations import get_organisation
from passport.services.passports.bulk import BulkRows, csv_rows
from passport.services.passports.issue import BulkRejected, issue_passports
from passport.store import db


def _read_rows(file: Path, ctx: ServiceContext) -> BulkRows:
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".csv":
        return csv_rows(text, ctx, load_envelope)
    try:
        body = limits.loads(text)  # the API's limits: depth and integer size
    except limits.LimitExceeded as exc:
        raise click.ClickException(f"{file}: {exc.detail} (at {', '.join(exc.errors)})") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file} is not valid JSON: {exc}") from None
    rows = BulkRows()
    for number, raw in enumerate(body if isinstance(body, list) else [body], start=1):
        rows.add(number, *load_envelope(raw))
    return rows


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The manufacturer issuing the passports")
@with_appcontext
def import_command(file: Path, slug: str) -> None:
    """Issue passports from a CSV or JSON file, all or nothing, with a progress bar."""
    run_import(file, slug)


def run_import(file: Path, slug: str) -> None:
    """Issue every passport in `file` for organisation `slug`, or none of them."""
    ctx: ServiceContext = current_app.extensions["passport.services"]
    rows = _read_rows(file, ctx)
    with Session(db.engine(), expire_on_commit=False) as sess:
        try:
            org = get_organisation(sess, slug)
            caller = Caller(org_id=org.id, slug=org.slug, roles=org.roles)
            with click.progressbar(length=len(rows), label="signing", file=sys.stderr) as bar:
                views = issue_passports(
                    sess,
                    ctx,
                    caller,
                    rows.rows,
                    row_errors=rows.errors,
                    at=datetime.now(UTC).replace(microsecond=0),
                    progress=bar.update,
                )
        except BulkRejected as exc:
            lines = [f"{exc.detail}:"]
            for number, errors in exc.rows.items():
                for field, messages in errors.items():
                    lines.append(f"  row {number}: {field}: {'; '.join(messages)}")
            raise click.ClickException("\n".join(lines)) from None
        except PassportError as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"issued {len(views)} passports for {slug}", err=True)
    for view in views:
        click.echo(view.uri)
