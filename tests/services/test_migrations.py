"""Ledger migrations keep every entry and the tree's root, down and up again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import inspect, text
from sqlmodel import Session

from passport import db
from passport.core.merkle import root
from passport.migrate import alembic_config
from passport.services.ledger import NewEntry, StoredNodes, append, begin_write
from tests.independent_log import leaf, mth


def migrate(app: Flask, step: Callable[[Config, str], None], revision: str) -> None:
    cfg = alembic_config()
    with app.app_context(), db.engine().begin() as connection:
        cfg.attributes["connection"] = connection
        step(cfg, revision)


def state(app: Flask) -> tuple[list[bytes], list[tuple[int, int, int, bytes]], bytes]:
    """The entries, the stored tiles and the root (read as the current code does)."""
    with app.app_context(), Session(db.engine()) as sess:
        entries = [
            bytes(r[0]) for r in sess.execute(text("SELECT entry FROM ledger_entry ORDER BY idx"))
        ]
        tiles = sess.execute(text("SELECT * FROM ledger_tile ORDER BY level, idx"))
        return (
            entries,
            [(t.level, t.idx, t.width, bytes(t.hashes)) for t in tiles],
            root(len(entries), StoredNodes(sess)),
        )


def nodes(app: Flask) -> int:
    """The number of node rows, before tiles."""
    with app.app_context(), Session(db.engine()) as sess:
        return int(sess.execute(text("SELECT COUNT(*) FROM ledger_node")).scalar_one())


def old_state(app: Flask) -> tuple[list[bytes], int, list[bytes]]:
    """The same at the first ledger revision, where every leaf is a level-0 node row."""
    with app.app_context(), Session(db.engine()) as sess:
        entries = [
            bytes(r[0]) for r in sess.execute(text("SELECT entry FROM ledger_entry ORDER BY idx"))
        ]
        nodes = sess.execute(text("SELECT COUNT(*) FROM ledger_node")).scalar_one()
        leaves = [
            bytes(r[0])
            for r in sess.execute(text("SELECT hash FROM ledger_node WHERE level = 0 ORDER BY idx"))
        ]
        return entries, nodes, leaves


def without_rowid(app: Flask) -> bool | None:
    """Whether SQLite keeps ledger_node in its primary key's B-tree (None: not SQLite)."""
    with app.app_context(), Session(db.engine()) as sess:
        if db.engine().dialect.name != "sqlite":
            return None
        sql = sess.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ledger_node'")
        ).scalar_one()
        return "WITHOUT ROWID" in sql


def leaf_index(app: Flask) -> bool:
    """Whether ledger_entry has the (idx, leaf_hash) index proofs read leaf hashes from."""
    with app.app_context(), db.engine().connect() as conn:
        indexes = inspect(conn).get_indexes("ledger_entry")
    return any(
        i["name"] == "ix_ledger_entry_leaf" and i["column_names"] == ["idx", "leaf_hash"]
        for i in indexes
    )


def test_ledger_revisions_round_trip(app: Flask) -> None:
    with app.app_context(), Session(db.engine()) as sess:
        begin_write(sess)
        append(sess, [NewEntry("test", b"%d" % i) for i in range(100)], at=datetime.now(UTC))
        sess.commit()
    entries, tiles, before = state(app)
    assert before == mth([leaf(e) for e in entries])
    # Level 0: six full tiles and one of 4 leaves; level 1: the 6 subtrees of 16 entries.
    assert [t[:3] for t in tiles] == [(0, i, 16) for i in range(6)] + [(0, 6, 4), (1, 0, 6)]
    assert not leaf_index(app)
    # Before tiles: a node row per subtree of level 4 and up, and the leaf-hash index.
    migrate(app, command.downgrade, "a3c5e8f2d146")
    sqlite = db.engine_of(app).dialect.name == "sqlite"
    assert without_rowid(app) is (True if sqlite else None)
    assert leaf_index(app)
    assert nodes(app) == 6 + 3 + 1  # levels 4, 5 and 6 of 100 leaves
    # Every level stored, the passport index back, no leaf hash column.
    migrate(app, command.downgrade, "13430d4cb600")
    assert old_state(app) == (entries, 100 + 50 + 25 + 12 + 6 + 3 + 1, [leaf(e) for e in entries])
    assert without_rowid(app) is (False if sqlite else None)
    assert not leaf_index(app)
    migrate(app, command.upgrade, "head")  # the leaf hashes are filled in again, then tiles
    assert state(app) == (entries, tiles, before)  # the same bytes as appending wrote
    assert not leaf_index(app)
    with app.app_context(), Session(db.engine()) as sess:
        stored = sess.execute(text("SELECT leaf_hash FROM ledger_entry ORDER BY idx"))
        assert [bytes(r[0]) for r in stored] == [leaf(e) for e in entries]
