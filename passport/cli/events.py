"""`dpp events import`: a sorting line's file of events, one outcome per item."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from passport.core import limits
from passport.core.errors import PassportError
from passport.core.product.access import Caller
from passport.services.context import ServiceContext
from passport.services.events.bulk import record_events
from passport.services.events.sheets import event_rows
from passport.services.orgs.organisations import get_organisation
from passport.store import db


@click.group("events")
def events_group() -> None:
    """Lifecycle events recorded from files (scanner exports, sorting lines)."""


def _read_items(file: Path) -> tuple[list[object], dict[int, dict[str, list[str]]]]:
    text = file.read_text(encoding="utf-8-sig")
    try:
        if file.suffix.lower() == ".csv":
            rows = event_rows(text)
            errors = {n: e for n, (_, e) in enumerate(rows, start=1) if e}
            return [row for row, _ in rows], errors
        body = limits.loads(text)
    except (limits.LimitExceeded, PassportError) as exc:
        raise click.ClickException(f"{file}: {exc.detail}") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file} is not valid JSON: {exc}") from None
    return (body if isinstance(body, list) else [body]), {}


@events_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The organisation recording the events")
@with_appcontext
def events_import(file: Path, slug: str) -> None:
    """Record the events in a CSV or JSON file; refused ones are named, the rest recorded.

    Exits 1 when any event was refused.
    """
    ctx: ServiceContext = current_app.extensions["passport.services"]
    items, row_errors = _read_items(file)
    with Session(db.engine(), expire_on_commit=False) as sess:
        try:
            org = get_organisation(sess, slug)
            caller = Caller(org_id=org.id, slug=org.slug, roles=org.roles)
            with click.progressbar(length=len(items), label="signing", file=sys.stderr) as bar:
                outcomes = record_events(
                    sess,
                    ctx,
                    caller,
                    items,
                    at=datetime.now(UTC).replace(microsecond=0),
                    row_errors=row_errors,
                    progress=bar.update,
                )
        except PassportError as exc:
            raise click.ClickException(exc.detail) from None
    refused = [o for o in outcomes if o.error is not None]
    for outcome in refused:
        error = outcome.error
        fields = "; ".join(
            f"{k}: {', '.join(v)}" for k, v in (error.errors if error else {}).items()
        )
        click.echo(f"item {outcome.item}: {error.detail if error else ''}"
                   + (f" ({fields})" if fields else ""), err=True)  # fmt: skip
    click.echo(f"{len(outcomes) - len(refused)} recorded, {len(refused)} refused", err=True)
    for outcome in outcomes:
        if outcome.error is None:
            click.echo(f"{outcome.passport} {outcome.kind} {outcome.ledger_index}")
    if refused:
        sys.exit(1)
