"""Proofs read stored tiles; what is missing or malformed is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session

from passport.core.errors import LedgerInconsistent
from passport.core.log.tiles import tile_length, tiles_from_leaves
from passport.services.ledger import log as ledger
from passport.services.ledger import nodes, proofs
from passport.services.ledger.log import NewEntry, append, begin_write
from passport.store import db
from passport.store.sql import driver_query
from passport.store.tables import LedgerEntryRow
from tests.independent_log import leaf, mth, verify_inclusion

SIZE = 100


@pytest.fixture
def log(app: Flask) -> list[bytes]:
    entries = [b"entry %d" % i for i in range(SIZE)]
    with app.app_context(), Session(db.engine()) as sess:
        begin_write(sess)
        append(sess, [NewEntry("test", e) for e in entries], at=datetime.now(UTC))
        sess.commit()
    return entries


def prove(app: Flask, index: int) -> proofs.InclusionProof:
    with app.app_context(), Session(db.engine()) as sess:
        nodes._caches[db.engine()] = nodes.NodeCache(capacity=0)  # read storage every time
        return proofs.inclusion(sess, index, SIZE)


def test_every_inclusion_proof_verifies_against_an_independent_root(
    app: Flask, log: list[bytes]
) -> None:
    root = mth([leaf(e) for e in log])
    for index in range(SIZE):
        proof = prove(app, index)
        assert proof.leaf_hash == leaf(log[index])
        verify_inclusion(index, SIZE, proof.leaf_hash, proof.hashes, root)


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        # Tile (0, 2) holds leaves 32-47 and the subtrees over them; tile (1, 0) levels 4-6.
        ("UPDATE ledger_tile SET hashes = :short WHERE level = 0 AND idx = 2", 37),  # its own
        ("UPDATE ledger_tile SET hashes = 'not a hash' WHERE level = 0 AND idx = 2", 37),  # text
        ("UPDATE ledger_tile SET width = 15 WHERE level = 0 AND idx = 2", 37),  # length disagrees
        ("UPDATE ledger_tile SET hashes = :short WHERE level = 1 AND idx = 0", 37),  # above it
        ("DELETE FROM ledger_tile WHERE level = 1 AND idx = 0", 37),
        ("DELETE FROM ledger_tile WHERE level = 0 AND idx = 6", 98),  # the right edge's tile
        # Narrower than the log: entry 99, 98's sibling, is not in it.
        ("UPDATE ledger_tile SET width = 3, hashes = :three WHERE level = 0 AND idx = 6", 98),
    ],
)
def test_a_proof_over_missing_or_malformed_hashes_is_refused(
    app: Flask, log: list[bytes], statement: str, index: int
) -> None:
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(text(statement), {"short": b"\x01" * 31, "three": b"\x01" * 32 * 4})
    with pytest.raises(LedgerInconsistent, match="missing or malformed"):
        prove(app, index)


def test_a_proof_reads_its_tiles_in_one_statement(
    app: Flask, log: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round trip, one row per tile, not per node: in a log of 100 entries a proof's 7
    hashes lie in its own leaf's tile, tile (1, 0) and the right edge's tile (0, 6)."""
    statements: list[tuple[str, object]] = []
    real = driver_query

    def counted(conn: object, sql: str, params: object = (), **options: object) -> object:
        statements.append((sql, params))
        return real(conn, sql, params, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(nodes, "driver_query", counted)
    for index in (0, 37, 98, 99):
        statements.clear()
        prove(app, index)
        reads = [(sql, params) for sql, params in statements if "ledger_tile" in sql]
        assert len(reads) == 1, reads
        params = list(reads[0][1])  # type: ignore[call-overload]
        tiles = set(zip(params[::2], params[1::2], strict=True))
        assert len(tiles) == len(params) // 2
        assert tiles <= {(0, index >> 4), (1, 0), (0, 6)}, tiles


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_tile_is_read_by_its_primary_key(app: Flask, log: list[bytes]) -> None:
    with app.app_context(), db.engine().connect() as conn:
        plan = driver_query(conn, f"EXPLAIN QUERY PLAN {nodes._tiles_sql(1)}", (0, 0))
    assert [row[-1] for row in plan] == [
        "SEARCH ledger_tile USING INDEX sqlite_autoindex_ledger_tile_1 (level=? AND idx=?)"
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_connections_are_durable_and_keep_a_16_mib_page_cache(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        settings = [
            driver_query(conn, f"PRAGMA {name}")[0][0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "cache_size")
        ]
    assert settings == ["wal", 2, 1, -16384]  # synchronous 2 is FULL; negative sizes are KiB


def test_driver_errors_come_out_as_sqlalchemy_errors(app: Flask) -> None:
    """Statements sent straight to the driver fail as SQLAlchemy statements would, so callers
    that tell database failures by SQLAlchemy's classes (the publisher) still catch them."""
    from sqlalchemy.exc import DBAPIError

    engine = db.engine_of(app)
    with engine.connect() as conn:
        with pytest.raises(DBAPIError) as raised:
            driver_query(conn, "SELECT value FROM no_such_table WHERE idx = ?", [1])
        assert "no_such_table" in str(raised.value.orig)
    with engine.connect() as conn:
        conn.begin()
        with pytest.raises(DBAPIError):
            engine.dialect.do_release_savepoint(conn, "never_taken")
    with engine.connect() as conn:
        if conn.dialect.paramstyle != "qmark":  # psycopg would read '%' as a placeholder
            with pytest.raises(ValueError, match="placeholder"):
                driver_query(conn, "SELECT 5 % 2")


def test_tiles_appended_in_any_batches_are_the_tiles_of_the_log(app: Flask) -> None:
    """Batches that end anywhere in a tile, or span several, several to a transaction (as the
    sequencer's jobs), some rolled back in a savepoint, rewrite the edge tiles so that the
    stored tiles are exactly those built from the whole log at once, after every commit."""
    import random

    rng = random.Random(5)
    entries: list[bytes] = []
    with app.app_context(), Session(db.engine()) as sess:
        while len(entries) < 1200:
            begin_write(sess)
            for _job in range(rng.choice([1, 3, 16])):
                batch = [b"e%d" % (len(entries) + i) for i in range(rng.choice([1, 2, 7, 15, 33]))]
                undone = rng.random() < 0.2
                savepoint = sess.begin_nested()
                append(sess, [NewEntry("test", e) for e in batch], at=datetime.now(UTC))
                if undone:
                    savepoint.rollback()  # the kept edge is forgotten; the next job reads again
                else:
                    savepoint.commit()
                    entries += batch
            sess.commit()
            stored = driver_query(
                sess.connection(), "SELECT level, idx, width, hashes FROM ledger_tile"
            )
            sess.commit()
            expected = tiles_from_leaves([leaf(e) for e in entries])
            assert sorted((t, i, w, bytes(h)) for t, i, w, h in stored) == sorted(
                (t, i, w, h) for (t, i), w, h in expected
            ), len(entries)


def test_an_append_over_a_planted_tile_fails_and_writes_nothing(
    app: Flask, log: list[bytes]
) -> None:
    """A tile stored where the log has not reached yet is never taken over by the log."""
    from sqlalchemy.exc import IntegrityError

    planted = b"\x07" * tile_length(16)
    with app.app_context(), db.engine().begin() as conn:  # where entries 112-127 will go
        conn.execute(text("INSERT INTO ledger_tile VALUES (0, 7, 16, :h)"), {"h": planted})
    with app.app_context(), Session(db.engine()) as sess:
        begin_write(sess)
        with pytest.raises(IntegrityError):
            append(
                sess, [NewEntry("test", b"late %d" % i) for i in range(30)], at=datetime.now(UTC)
            )
        sess.rollback()
        assert ledger.committed_size(sess) == SIZE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_entry_times_are_stored_as_sqlite3_would_store_them(app: Flask) -> None:
    """The ledger formats its time once per batch: the text sqlite3's datetime adapter makes,
    so rows read back as before, whichever path wrote them."""
    at = datetime(2026, 11, 22, 13, 5, 7, 250, tzinfo=UTC)
    with app.app_context(), Session(db.engine()) as sess:
        begin_write(sess)
        append(sess, [NewEntry("test", b"a"), NewEntry("test", b"b")], at=at)
        sess.commit()
        stored = driver_query(sess.connection(), "SELECT created_at FROM ledger_entry")
        row = sess.get(LedgerEntryRow, 1)
        assert row is not None
        read_back = row.created_at
    assert stored == [("2026-11-22 13:05:07.000250+00:00",)] * 2
    assert read_back.replace(tzinfo=UTC) == at
