"""`dpp audit` on a real database: it passes when all is well and names the entry otherwise.

Every test here starts from a copy of one populated log, built once per database kind (see
`Templates` in conftest.py): a tamper in one test never reaches another.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlmodel import SQLModel

from passport.store import db
from passport.store.packing import pack, unpack
from tests.helpers import (
    Templates,
    bearer,
    correct,
    create_org,
    example,
    flip,
    run_audit,
    sql,
    stored_entry,
)


def populate(app: Flask) -> dict[str, Any]:
    """A log of 16 entries (one full tile): keys, passports, a correction, checkpoints."""
    client, runner = app.test_client(), app.test_cli_runner()
    maker = create_org(runner, "maker", "manufacturer")
    create_org(runner, "fixer", "repairer")
    rows = [example("textile") for _ in range(8)] + [example("mattress") for _ in range(4)]
    bulk = client.post(
        "/api/v1/passports:bulk", json=rows, headers={**bearer(maker), "Idempotency-Key": "bulk-1"}
    )
    assert bulk.status_code == 201, bulk.get_json()
    one = client.post(  # both writes keep their responses for retries: the audit checks them
        "/api/v1/passports?wait=checkpoint",
        json=example("textile"),
        headers={**bearer(maker), "Idempotency-Key": "one-1"},
    )
    assert one.status_code == 201, one.get_json()
    correct(client, maker, one.get_json()["id"])
    return {"maker": maker, "id": one.get_json()["id"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[str]:
    """This test's own copy of the populated log (and its keys), instead of an empty database."""
    yield from templates.copy(request.param, populate, tmp_path)


@pytest.fixture
def populated(app: Flask, templates: Templates, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The maker's token and the corrected passport's id in this test's copy of the log."""
    kind = "sqlite" if app.config["DATABASE_URL"].startswith("sqlite") else "postgresql"
    return templates.data(kind, populate)


def test_audit_passes_on_a_healthy_log(runner: FlaskCliRunner, populated: dict[str, Any]) -> None:
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    assert "audit passed: 16 entries" in result.output
    assert "14 signatures verified, 28 restricted credentials bound by digest, " in result.output
    assert "2 responses kept for retries\n" in result.output
    deep = runner.invoke(args=["audit", "--workers", "2", "--restricted-signatures"])
    assert deep.exit_code == 0, deep.output
    assert "28 restricted credentials bound by digest and signature" in deep.output


TAMPERS: dict[str, tuple[Callable[[Flask], None], str]] = {}


def tamper(name: str, expect: str) -> Callable[[Callable[[Flask], None]], Callable[[Flask], None]]:
    def register(func: Callable[[Flask], None]) -> Callable[[Flask], None]:
        TAMPERS[name] = (func, expect)
        return func

    return register


@tamper("entry byte", "entry 5")
def _change_entry(app: Flask) -> None:
    raw = stored_entry(app, 5)
    at = raw.index(b'"mass_g":') + 10
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 5", e=flip(raw, at))


@tamper("history rows swapped between passports", "entry 6")
def _swap_history(app: Flask) -> None:
    # Each public credential is served from the entry its history row points at: pointing two
    # passports' rows at each other's entries would serve each the other's credential.
    sql(app, "UPDATE history_entry SET ledger_index = -1 WHERE ledger_index = 6")
    sql(app, "UPDATE history_entry SET ledger_index = 6 WHERE ledger_index = 7")
    sql(app, "UPDATE history_entry SET ledger_index = 7 WHERE ledger_index = -1")


@tamper("served entry hash", "entry 6")
def _change_entry_hash(app: Flask) -> None:
    # The next version's previousEntry is taken from it: it must be the entry's leaf hash.
    sql(app, "UPDATE history_entry SET entry_hash = :h WHERE ledger_index = 6", h="00" * 32)


@tamper("restricted credential byte", "entry 7")
def _change_restricted(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        pid, seq = conn.execute(
            text("SELECT passport_id, sequence FROM history_entry WHERE ledger_index = 7")
        ).one()
        tier, packed = conn.execute(
            text(
                "SELECT tier, packed FROM restricted_credential"
                " WHERE passport_id = :p AND sequence = :s"
            ),
            {"p": pid, "s": seq},
        ).first()
    changed = unpack(bytes(packed)).replace(b'"salt":"', b'"salt":"A', 1)
    sql(
        app,
        "UPDATE restricted_credential SET packed = :c"
        " WHERE passport_id = :p AND sequence = :s AND tier = :t",
        c=pack(changed),
        p=pid,
        s=seq,
        t=tier,
    )


@tamper("restricted credential packing", "entry 7")
def _damage_packing(app: Flask) -> None:
    sql(
        app,
        "UPDATE restricted_credential SET packed = :c WHERE passport_id ="
        " (SELECT passport_id FROM history_entry WHERE ledger_index = 7) AND tier = 'authority'",
        c=b"\x01not deflate",
    )


@tamper("version number", "entry 15")
def _version(app: Flask) -> None:
    # Entry 15 is the correction: NULL would make the API serve version 1 as the current one.
    sql(app, "UPDATE history_entry SET version = NULL WHERE ledger_index = 15")


@tamper("deleted history row", "entry 6")
def _delete_history(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        pid, seq = conn.execute(
            text("SELECT passport_id, sequence FROM history_entry WHERE ledger_index = 6")
        ).one()
    sql(
        app,
        "DELETE FROM restricted_credential WHERE passport_id = :p AND sequence = :s",
        p=pid,
        s=seq,
    )
    sql(app, "DELETE FROM history_entry WHERE ledger_index = 6")


@tamper("deleted restricted credential", "entry 7")
def _delete_restricted(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        pid, seq = conn.execute(
            text("SELECT passport_id, sequence FROM history_entry WHERE ledger_index = 7")
        ).one()
    sql(
        app,
        "DELETE FROM restricted_credential WHERE passport_id = :p AND sequence = :s"
        " AND tier = 'authority'",
        p=pid,
        s=seq,
    )


@tamper("response kept for a retry", "entry 14")
def _change_kept_response(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        kept = conn.execute(text("SELECT response FROM idempotency WHERE key = 'one-1'")).scalar()
    assert '"mass_g":1200' in kept  # what a retry would serve (the first answer's very text)
    changed = kept.replace('"mass_g":1200', '"mass_g":1201', 1)
    sql(app, "UPDATE idempotency SET response = :r WHERE key = 'one-1'", r=changed)


@tamper("response kept for a bulk retry", "entry 9")
def _change_kept_bulk_response(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        kept = conn.execute(text("SELECT response FROM idempotency WHERE key = 'bulk-1'")).scalar()
    body = json.loads(kept)
    body["passports"][7]["version"] = 2  # a version that was never logged for it
    sql(app, "UPDATE idempotency SET response = :r WHERE key = 'bulk-1'", r=json.dumps(body))


@tamper("key served in a DID document", "but logged otherwise")
def _org_key(app: Flask) -> None:
    sql(app, "UPDATE org_key SET public_key = :k", k=b"\x07" * 32)


@tamper("deleted entry", "entry 4")
def _delete(app: Flask) -> None:
    sql(app, "DELETE FROM ledger_entry WHERE idx = 4")


@tamper("swapped entries", "entry 3")
def _swap(app: Flask) -> None:
    a, b = stored_entry(app, 3), stored_entry(app, 8)
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 3", e=b)
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 8", e=a)


def _tile(app: Flask, t: int, i: int) -> bytes:
    with app.app_context(), db.engine().connect() as conn:
        return bytes(
            conn.execute(
                text("SELECT hashes FROM ledger_tile WHERE level = :t AND idx = :i"),
                {"t": t, "i": i},
            ).scalar_one()
        )


def _flip_tile(app: Flask, t: int, i: int, at: int) -> None:
    changed = flip(_tile(app, t, i), at)
    sql(
        app, "UPDATE ledger_tile SET hashes = :h WHERE level = :t AND idx = :i", h=changed, t=t, i=i
    )


@tamper("node hash", "entry 0: stored tile (1, 0): node (4, 0)")
def _node(app: Flask) -> None:
    _flip_tile(app, 1, 0, 7)  # 16 entries: tile (1, 0) holds one hash, of subtree (4, 0)


@tamper("leaf hash in a tile", "entry 5: stored tile (0, 0): node (0, 5)")
def _tile_leaf(app: Flask) -> None:
    _flip_tile(app, 0, 0, 5 * 32)  # tile (0, 0): its 16 leaf hashes first


@tamper("tile beyond the log", "1 stored tiles lie outside the tree, first (0, 1)")
def _stray_tile(app: Flask) -> None:
    sql(app, "INSERT INTO ledger_tile VALUES (0, 1, 1, :h)", h=b"\x00" * 32)


@tamper("tile wider than the log", "1 stored tiles lie outside the tree, first (1, 0)")
def _wide_tile(app: Flask) -> None:
    wider = _tile(app, 1, 0) + b"\x00" * 32 * 2  # width 2: its own node and one more, then (5, 0)
    sql(app, "UPDATE ledger_tile SET width = 2, hashes = :h WHERE level = 1 AND idx = 0", h=wider)


@tamper("leaf hash", "entry 5")
def _leaf(app: Flask) -> None:
    sql(app, "UPDATE ledger_entry SET leaf_hash = :h WHERE idx = 5", h=b"\x00" * 32)


@tamper("leaf hash stored as text", "entry 5")
def _leaf_text(app: Flask) -> None:
    # SQLite keeps the TEXT; PostgreSQL makes the literal a 10-byte bytea. Wrong either way.
    sql(app, "UPDATE ledger_entry SET leaf_hash = 'not a hash' WHERE idx = 5")


@tamper("tile stored as text", "entry 0: stored tile (1, 0) is missing or malformed")
def _node_text(app: Flask) -> None:
    sql(app, "UPDATE ledger_tile SET hashes = 'not a hash' WHERE level = 1 AND idx = 0")


@tamper("replaced checkpoint", "checkpoint")
def _checkpoint(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        size, note = conn.execute(
            text("SELECT size, note FROM checkpoint ORDER BY size LIMIT 1")
        ).one()
    lines = note.split("\n")
    lines[2] = "A" * 43 + "="
    sql(app, "UPDATE checkpoint SET note = :n WHERE size = :s", n="\n".join(lines), s=size)


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_audit_names_what_was_tampered(
    app: Flask, runner: FlaskCliRunner, populated: dict[str, Any], name: str
) -> None:
    func, expect = TAMPERS[name]
    func(app)
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "AUDIT FAILED" in result.output
    assert expect in result.output, result.output


def test_kept_responses_are_read_page_by_page(
    app: Flask, populated: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import Session

    from passport.services.ledger.audit import responses as audit_responses
    from passport.services.ledger.audit.tree import AuditFailed

    monkeypatch.setattr(audit_responses, "PAGE", 1)  # three pages, and the bulk one in twelve
    base_url = app.extensions["passport.services"].base_url
    log_key = app.extensions["passport.publisher"].key
    with app.app_context(), Session(db.engine()) as sess:
        assert audit_responses.check_kept_responses(sess, base_url, log_key) == 2
    _change_kept_response(app)  # 'one-1' sorts after 'bulk-1': on the second page
    with app.app_context(), Session(db.engine()) as sess, pytest.raises(AuditFailed) as failed:
        audit_responses.check_kept_responses(sess, base_url, log_key)
    assert failed.value.index == 14


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_audit_names_an_entry_stored_as_text(
    app: Flask, runner: FlaskCliRunner, populated: dict[str, Any]
) -> None:
    """Only SQLite lets a BLOB column hold TEXT (PostgreSQL's bytea holds nothing but bytes)."""
    sql(app, "UPDATE ledger_entry SET entry = CAST(entry AS TEXT) WHERE idx = 5")
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "entry 5: its stored entry is not bytes" in result.output, result.output


def snapshot(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Copy every table's rows: what a database backup holds."""
    with app.app_context(), db.engine().connect() as conn:
        return {
            table.name: [dict(row._mapping) for row in conn.execute(table.select())]
            for table in SQLModel.metadata.sorted_tables
        }


def restore(app: Flask, saved: dict[str, list[dict[str, Any]]]) -> None:
    """Put a backup back: every table emptied and refilled."""
    tables = SQLModel.metadata.sorted_tables
    with app.app_context(), db.engine().begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            if saved[table.name]:
                conn.execute(table.insert(), saved[table.name])


def test_audit_catches_a_fork_from_a_restored_copy(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, populated: dict[str, Any]
) -> None:
    backup = snapshot(app)
    maker = bearer(populated["maker"])
    more = client.post("/api/v1/passports?wait=checkpoint", json=example("mattress"), headers=maker)
    assert more.status_code == 201
    restore(app, backup)
    other = client.post("/api/v1/passports", json=example("textile"), headers=maker)
    assert other.status_code == 201  # the write lands; signing a checkpoint over it is refused
    refused = client.post(
        "/api/v1/passports?wait=checkpoint", json=example("textile"), headers=maker
    )
    assert refused.status_code == 503
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "kept beside the log key" in result.output, result.output


def test_compromised_key_voids_later_entries(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, populated: dict[str, Any]
) -> None:
    with app.app_context(), db.engine().connect() as conn:
        key_id = conn.execute(text("SELECT key_id FROM org_key ORDER BY id LIMIT 1")).scalar_one()
        first_use = conn.execute(text("SELECT min(ledger_index) FROM history_entry")).scalar_one()
    revoked = runner.invoke(
        args=["key", "revoke", "maker", key_id, "--compromised-since", str(first_use + 2)]
    )
    assert revoked.exit_code == 0, revoked.output
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert f"entry {first_use + 2}:" in result.output
    assert "compromised" in result.output


def test_audit_passes_after_key_rotation(
    client: FlaskClient, runner: FlaskCliRunner, populated: dict[str, Any]
) -> None:
    assert runner.invoke(args=["key", "rotate", "maker"]).exit_code == 0
    maker = bearer(populated["maker"])
    response = client.post(
        "/api/v1/passports?wait=checkpoint", json=example("textile"), headers=maker
    )
    assert response.status_code == 201
    result = run_audit(runner)
    assert result.exit_code == 0, result.output


def test_serving_is_refused_when_the_database_is_behind(
    app: Flask, client: FlaskClient, populated: dict[str, Any]
) -> None:
    from passport.core.errors import LedgerInconsistent
    from passport.instance import check_startup

    backup = snapshot(app)
    maker = bearer(populated["maker"])
    client.post("/api/v1/passports?wait=checkpoint", json=example("textile"), headers=maker)
    check_startup(app)
    restore(app, backup)
    with pytest.raises(LedgerInconsistent, match="behind"):
        check_startup(app)


def test_entries_appended_during_an_audit_are_not_extra_rows(
    app: Flask, runner: FlaskCliRunner, populated: dict[str, Any]
) -> None:
    """Rows past the size the audit read are fine when the head grew with them, not otherwise."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from passport.services.ledger.audit.run import _check_head
    from passport.services.ledger.audit.tree import AuditFailed
    from passport.services.ledger.log import NewEntry, append, begin_write, committed_size

    with app.app_context(), Session(db.engine()) as sess:
        size = committed_size(sess)
        sess.rollback()
        begin_write(sess)
        append(sess, [NewEntry("test", b"appended while auditing")], at=datetime.now(UTC))
        sess.commit()
        _check_head(sess, size)  # the head moved with the row: an ordinary live append
        sess.rollback()
    sql(app, "UPDATE ledger_head SET size = :s", s=size)  # now the row lies past the head
    with app.app_context(), Session(db.engine()) as sess, pytest.raises(AuditFailed) as caught:
        _check_head(sess, size)
    assert f"the log head says {size} entries but {size + 1} are stored" in caught.value.detail


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("column", ["level", "idx", "width"])
def test_a_tile_with_a_malformed_key_or_width_fails_the_audit(
    app: Flask, runner: FlaskCliRunner, populated: dict[str, Any], column: str
) -> None:
    """SQLite keeps TEXT in an INTEGER column: the audit names it instead of crashing."""
    values = {"level": 0, "idx": 9, "width": 1, column: "'x'"}
    sql(
        app,
        "INSERT INTO ledger_tile VALUES ({level}, {idx}, {width}, :h)".format(**values),
        h=b"\x00" * 32,
    )
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "1 stored tiles lie outside the tree" in result.output, result.output


def test_the_audit_of_a_growing_log_passes(
    app: Flask, runner: FlaskCliRunner, populated: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries committed while the audit looks for tiles past the log widen the edge tiles;
    on PostgreSQL it sees them (a statement sees what committed before it), so it must bound
    them by the head it reads after them, not before."""
    from sqlmodel import Session

    from passport.services.ledger.audit import tree as audit_tree
    from passport.services.ledger.log import NewEntry, append, begin_write

    real = audit_tree.driver_query
    grown = []

    def grow_first(conn: Any, statement: str, *args: Any, **options: Any) -> Any:
        if "FROM ledger_tile WHERE level < 0" in statement and not grown:
            with Session(db.engine_of(app)) as sess:
                begin_write(sess)
                late = [NewEntry("test", b"late %d" % i) for i in range(5)]
                grown.extend(append(sess, late, at=datetime.now(UTC)))
                sess.commit()
        return real(conn, statement, *args, **options)

    monkeypatch.setattr(audit_tree, "driver_query", grow_first)
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    # The hook matches the audit's SQL by its text: if the query changed, nothing grew and
    # the audit above proved nothing about a growing log.
    assert grown == [16, 17, 18, 19, 20], "the audit never looked for tiles past the log"
    assert "audit passed: 16 entries" in result.output, result.output
