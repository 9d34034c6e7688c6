"""Bring a deployment to a servable state: schema, log key, backfill, start-up check."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlmodel import Session

from passport import db, migrate
from passport.services.backfill import backfill
from passport.services.checkpoints import check_against
from passport.services.context import ServiceContext
from passport.services.logkey import ensure_log_key, read_witness
from passport.services.publisher import Publisher


def initialise(app: Flask) -> int:
    """Migrate, create the log key if missing, log what predates the ledger; return how many."""
    ctx: ServiceContext = app.extensions["passport.services"]
    migrate.upgrade(db.engine_of(app))
    ensure_log_key(Path(app.config["DPP_KEYS_DIR"]), app.config["DPP_KEY_PASSPHRASE_BYTES"])
    with Session(db.engine_of(app), expire_on_commit=False) as sess:
        added = backfill(sess, ctx.base_url)
    return added


def check_startup(app: Flask) -> None:
    """Refuse to serve unless the stored tree matches the last checkpoint the log key signed."""
    publisher: Publisher = app.extensions["passport.publisher"]
    note = read_witness(publisher.keys_dir)
    with Session(db.engine_of(app)) as sess:
        if note is not None:
            check_against(sess, note, publisher.key)
        from passport.services.checkpoints import latest

        stored = latest(sess)
        if stored is not None:
            check_against(sess, stored.note.encode(), publisher.key)
