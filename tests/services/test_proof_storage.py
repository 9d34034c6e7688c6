"""Proofs read stored node hashes and leaf hashes; what is missing or malformed is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session

from passport import db
from passport.core.errors import LedgerInconsistent
from passport.db import driver_query
from passport.services import ledger, proofs
from passport.services.ledger import NewEntry, append, begin_write
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
        ledger._caches[db.engine()] = ledger.NodeCache(capacity=0)  # read storage every time
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
        ("UPDATE ledger_entry SET leaf_hash = :short WHERE idx = 37", 37),  # its own leaf
        ("UPDATE ledger_entry SET leaf_hash = :short WHERE idx = 36", 37),  # its sibling
        ("UPDATE ledger_entry SET leaf_hash = :short WHERE idx = 40", 37),  # in a sibling subtree
        ("UPDATE ledger_entry SET leaf_hash = 'not a hash' WHERE idx = 38", 37),  # text, not bytes
        ("UPDATE ledger_node SET hash = 'not a hash' WHERE level = 4 AND idx = 3", 37),
        ("DELETE FROM ledger_entry WHERE idx = 99", 98),  # in the cut-off right edge
        ("DELETE FROM ledger_node WHERE level = 4 AND idx = 3", 37),  # a stored node
    ],
)
def test_a_proof_over_missing_or_malformed_hashes_is_refused(
    app: Flask, log: list[bytes], statement: str, index: int
) -> None:
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(text(statement), {"short": b"\x01" * 31} if ":short" in statement else {})
    with pytest.raises(LedgerInconsistent, match="missing or malformed"):
        prove(app, index)


def test_a_proof_reads_storage_in_one_statement(
    app: Flask, log: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored nodes and the leaf hashes under the low ones come in one round trip."""
    statements: list[str] = []
    real = driver_query

    def counted(conn: object, sql: str, params: object = (), **options: object) -> object:
        statements.append(sql)
        return real(conn, sql, params, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "driver_query", counted)
    for index in (0, 37, 98, 99):
        statements.clear()
        prove(app, index)
        reads = [sql for sql in statements if "ledger_node" in sql or "leaf_hash" in sql]
        assert len(reads) == 1, reads
        assert "ledger_node" in reads[0]
        assert "leaf_hash" in reads[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_leaf_hashes_are_read_from_the_covering_index(app: Flask, log: list[bytes]) -> None:
    """Not from the rows holding whole entries (PostgreSQL's planner decides by statistics)."""
    block = ledger._read_sql(0, 1)
    with app.app_context(), db.engine().connect() as conn:
        plan = driver_query(conn, f"EXPLAIN QUERY PLAN {block}", (0, 16))
    assert [row[-1] for row in plan] == [
        "SEARCH ledger_entry USING COVERING INDEX ix_ledger_entry_leaf (idx>? AND idx<?)"
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
