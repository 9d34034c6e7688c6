"""What every `dpp` command shares: the clock, a session, the services, errors, tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

import click
from flask import current_app
from sqlmodel import Session

from passport.core.errors import PassportError
from passport.services.context import ServiceContext
from passport.store import db


def now() -> datetime:
    """Return the current time in UTC, to the second (what entries record)."""
    return datetime.now(UTC).replace(microsecond=0)


def session() -> Session:
    """Open a session on the current app's database."""
    return Session(db.engine(), expire_on_commit=False)


def services() -> ServiceContext:
    """Return the current app's service context."""
    context: ServiceContext = current_app.extensions["passport.services"]
    return context


def fail(error: PassportError) -> NoReturn:
    """Exit with the domain error's detail and every field's problems."""
    message = error.detail
    for field, problems in error.errors.items():
        message += f"\n  {field}: {'; '.join(problems)}"
    raise click.ClickException(message)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return `rows` as a plain-text table under `headers`, columns padded to fit."""
    cells = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)
