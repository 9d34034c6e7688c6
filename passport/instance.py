"""Bring an app's instance to a servable state: schema, identity, log key, start-up check.

**Identity.** The base URL is part of everything signed: DIDs (`did:web:{host}:orgs:…`),
Digital Link URIs and the checkpoint origin (`{host}/ledger`). So it is fixed once, when the
instance is created, and stored in the database (table `instance`):

- `dpp init` (and `dpp serve` on a new database) stores the base URL the app was built with:
  an explicit `DPP_BASE_URL`, else (serve) `http://{host}:{port}`, else the default. A database
  from 0.1.0 stores it at its first `dpp init` after the upgrade, and only if its log's DIDs
  were made under that URL.
- Every app (`create_app`: every command, every gunicorn worker) reads it from the database.
  Without `DPP_BASE_URL` the stored one is used; an explicit `DPP_BASE_URL` that disagrees is
  refused (`IdentityMismatch`, naming both) before anything is written.
- Moving an instance to another host is refused: every DID, every Digital Link URI and the
  checkpoint origin already logged and signed name the old host, and readers pinned the log
  key under that origin. Serve the old base URL (a proxy may answer under both) or start a
  new instance.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from passport.core.log.kinds import EntryKind
from passport.core.signing.did import did_web
from passport.services.ledger.checkpoints import check_against, latest
from passport.services.ledger.logkey import ensure_log_key, read_witness
from passport.services.ledger.publisher import Publisher
from passport.store import db, migrate
from passport.store.sql import stored_bytes
from passport.store.tables import InstanceRow, LedgerEntryRow

_INSTANCE_ID = 1


class IdentityMismatch(click.ClickException):
    """The base URL given disagrees with the instance's identity; nothing was written."""


def normalise_base_url(url: str) -> str:
    """Return `url` as stored and compared: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def stored_base_url(engine: Engine) -> str | None:
    """Return the base URL stored at `dpp init`, or None before there is one."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(InstanceRow.__tablename__):
            return None
        found = conn.execute(
            text("SELECT base_url FROM instance WHERE id = :id"), {"id": _INSTANCE_ID}
        ).scalar()
        conn.rollback()
    return None if found is None else str(found)


def resolve_base_url(app: Flask) -> None:
    """Set the app's `DPP_BASE_URL` to the stored one; refuse an explicit one that disagrees.

    `DPP_BASE_URL_STORED` records whether the database already had one.
    """
    stored = stored_base_url(db.engine_of(app))
    app.config["DPP_BASE_URL_STORED"] = stored is not None
    if stored is None:
        return
    given = normalise_base_url(app.config["DPP_BASE_URL"])
    if app.config.get("DPP_BASE_URL_EXPLICIT") and given != stored:
        db.engine_of(app).dispose()  # the app is not returned: close what it opened
        raise _mismatch(given, stored)
    app.config["DPP_BASE_URL"] = stored


def _mismatch(given: str, stored: str) -> IdentityMismatch:
    return IdentityMismatch(
        f"DPP_BASE_URL is {given} but this instance's base URL is {stored} (stored at "
        f"`dpp init`): every DID, Digital Link URI and checkpoint it signed names {stored}. "
        f"Unset DPP_BASE_URL or set it to {stored}; nothing was written. Moving an instance "
        "to another host is refused (see `passport.instance`)."
    )


def _store_identity(app: Flask) -> None:
    """Store the app's base URL as the instance's, unless one is stored (then it must match)."""
    base_url = normalise_base_url(app.config["DPP_BASE_URL"])
    with Session(db.engine_of(app)) as sess:
        row = sess.get(InstanceRow, _INSTANCE_ID)
        if row is not None:
            if row.base_url != base_url:
                raise _mismatch(base_url, row.base_url)
            return
        _check_log_names(sess, base_url)
        # An instance upgraded from 0.1.0 gets its row here: claims logged so far were never
        # drawn from recorded lots (see `InstanceRow.claims_from`).
        size = sess.execute(text("SELECT size FROM ledger_head WHERE id = 1")).scalar() or 0
        sess.add(
            InstanceRow(
                id=_INSTANCE_ID, base_url=base_url, created_at=datetime.now(UTC), claims_from=size
            )
        )
        sess.commit()
    app.config["DPP_BASE_URL"] = base_url
    app.config["DPP_BASE_URL_STORED"] = True


def _check_log_names(sess: Session, base_url: str) -> None:
    """Refuse a base URL under which the log's first key was not registered (a 0.1.0 log)."""
    first = sess.exec(
        select(LedgerEntryRow.entry)
        .where(LedgerEntryRow.kind == EntryKind.KEY_REGISTERED.value)
        .order_by(col(LedgerEntryRow.idx))
        .limit(1)
    ).first()
    if first is None:
        return
    controller = str(json.loads(stored_bytes(first))["key"]["controller"])
    slug = controller.rsplit(":", 1)[-1]
    if did_web(base_url, slug) != controller:
        raise IdentityMismatch(
            f"the log already names {controller}, which DPP_BASE_URL {base_url} does not "
            "make: set DPP_BASE_URL to the URL this instance was served at; nothing was written"
        )


def initialise(app: Flask) -> None:
    """Migrate the database, fix the instance's base URL and create the log key if missing."""
    migrate.upgrade(db.engine_of(app))
    _store_identity(app)
    ensure_log_key(Path(app.config["DPP_KEYS_DIR"]), app.config["DPP_KEY_PASSPHRASE_BYTES"])


def check_startup(app: Flask) -> None:
    """Refuse to serve unless the stored tree matches the last checkpoint the log key signed."""
    publisher: Publisher = app.extensions["passport.publisher"]
    note = read_witness(publisher.keys_dir)
    with Session(db.engine_of(app)) as sess:
        if note is not None:
            check_against(sess, note, publisher.key)
        stored = latest(sess)
        if stored is not None:
            check_against(sess, stored.note.encode(), publisher.key)
