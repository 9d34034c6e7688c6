"""The Alembic revisions build exactly the tables the code declares, and go down cleanly."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from passport.core.log.kinds import credential_of
from passport.store import db
from passport.store.migrate import alembic_config, upgrade
from tests.helpers import bearer, correct, create_org, example, run_audit


def _migrate(app: Flask, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic `command.upgrade` or `command.downgrade` on the app's database."""
    cfg = alembic_config()
    with app.app_context(), db.engine().begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def test_revisions_form_one_chain() -> None:
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    assert [(r.revision, r.down_revision) for r in revisions] == [
        ("0005", "0004"),
        ("0004", "0003"),
        ("0003", "0002"),
        ("0002", "0001"),
        ("0001", None),
    ]


def test_0002_marks_keys_revoked_before_the_upgrade(app: Flask, runner: FlaskCliRunner) -> None:
    """A 0.1.0 database with a revoked key: after 0002 the DID document marks it revoked."""
    create_org(runner, "maker", "manufacturer")
    old = runner.invoke(args=["key", "list", "maker"]).stdout.splitlines()[1].split()[0]
    assert runner.invoke(args=["key", "rotate", "maker"]).exit_code == 0
    assert runner.invoke(args=["key", "revoke", "maker", old]).exit_code == 0
    _migrate(app, command.downgrade, "0001")
    _migrate(app, command.upgrade, "head")
    with app.app_context(), db.engine().connect() as conn:
        revoked = conn.execute(
            text("SELECT revoked_at FROM org_key WHERE key_id = :k"), {"k": old}
        ).scalar()
    assert revoked is not None
    listed = runner.invoke(args=["key", "list", "maker"]).stdout
    assert f"{old}  revoked " in listed


def test_0003_keeps_every_credential_through_a_downgrade_and_back(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    """0.2 stores each public credential once, in its ledger entry: going back to 0002 puts
    the second copy back byte for byte, and coming up again serves the same bytes."""
    token = create_org(runner, "maker", "manufacturer")
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert issued.status_code == 201, issued.get_json()
    passport_id = issued.get_json()["id"]
    correct(client, token, passport_id)
    before = client.get(f"/api/v1/passports/{passport_id}", headers=bearer(token)).get_data()
    assert set(json.loads(before)["restricted"]) == {"legitimate_interest", "authority"}
    _migrate(app, command.downgrade, "0002")
    with app.app_context(), db.engine().connect() as conn:
        kept = conn.execute(
            text(
                "SELECT h.credential, h.kind, e.entry FROM history_entry h"
                " JOIN ledger_entry e ON e.idx = h.ledger_index ORDER BY h.sequence"
            )
        ).all()
        restricted = conn.execute(
            text("SELECT tier, credential FROM restricted_credential WHERE sequence = 2")
        ).all()
    _migrate(app, command.upgrade, "head")
    assert len(kept) == 2
    for credential, kind, entry in kept:
        assert credential.encode() == credential_of(bytes(entry), kind)
    assert json.loads(before)["credential"] == json.loads(kept[-1][0])
    assert {tier: json.loads(text) for tier, text in restricted} == json.loads(before)["restricted"]
    assert (
        client.get(f"/api/v1/passports/{passport_id}", headers=bearer(token)).get_data() == before
    )
    assert run_audit(runner).exit_code == 0


def test_migrated_schema_matches_the_tables(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        head = conn.execute(text("SELECT id, size FROM ledger_head")).all()
    assert differences == []
    assert [tuple(row) for row in head] == [(1, 0)]


def test_downgrade_drops_everything_and_upgrade_restores_it(app: Flask) -> None:
    _migrate(app, command.downgrade, "base")
    with app.app_context(), db.engine().connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set()
    _migrate(app, command.upgrade, "head")
    with app.app_context(), db.engine().connect() as conn:
        assert set(inspect(conn).get_table_names()) >= set(SQLModel.metadata.tables)


def test_a_development_database_is_refused_with_a_clear_message(app: Flask) -> None:
    with app.app_context():
        with db.engine().begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'b7d4e2a9c310'"))
        with pytest.raises(RuntimeError, match="development version before the first release"):
            upgrade(db.engine())
