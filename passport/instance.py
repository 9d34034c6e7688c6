"""Bring an app's instance to a servable state: schema, log key, start-up check."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlmodel import Session

from passport.services.ledger.checkpoints import check_against, latest
from passport.services.ledger.logkey import ensure_log_key, read_witness
from passport.services.ledger.publisher import Publisher
from passport.store import db, migrate


def initialise(app: Flask) -> None:
    """Migrate the database to the newest schema and create the log key if missing."""
    migrate.upgrade(db.engine_of(app))
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
