"""`dpp audit` over several worker ranges: checkpoints inside ranges, versions across ranges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text
from sqlmodel import Session

from passport.core.log.tiles import slot, tile_of
from passport.core.product.access import Caller
from passport.services.ledger.audit.worker import RANGE
from passport.services.ledger.checkpoints import publish
from passport.services.orgs.organisations import get_organisation
from passport.services.passports.issue import issue_passports
from passport.services.passports.read import correct_passport
from passport.store import db
from tests.helpers import Templates, create_org, example, run_audit, sql, stored_entry, value

AT = datetime(2026, 11, 23, tzinfo=UTC)


def populate(app: Flask) -> dict[str, int]:
    """1,042 entries over five ranges, checkpoints inside three of them, a version chained
    from range 0 to range 4."""
    create_org(app.test_cli_runner(), "maker", "manufacturer")
    ctx = app.extensions["passport.services"]
    publisher = app.extensions["passport.publisher"]
    body = example("textile")
    sizes = []

    def checkpoint(step: int) -> None:
        published = publish(
            db.engine_of(app), publisher.key, publisher.keys_dir, at=AT + timedelta(seconds=step)
        )
        assert published is not None
        sizes.append(published.size)

    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        org = get_organisation(sess, "maker")
        caller = Caller(org.id, org.slug, org.roles)
        first = issue_passports(sess, ctx, caller, [body] * 700, at=AT)
        checkpoint(1)
        issue_passports(sess, ctx, caller, [body] * 330, at=AT)
        checkpoint(2)
        product = example("textile")["product"]
        product["name"] = "Corrected across ranges"
        corrected = correct_passport(sess, ctx, caller, first[3].id, product, at=AT)
        issue_passports(sess, ctx, caller, [body] * 10, at=AT)
        checkpoint(3)
    assert sizes == [701, 1031, 1042]  # none a multiple of RANGE: each needs a worker's cut
    assert corrected.ledger_index == 1031
    assert first[3].ledger_index == 4
    assert 1031 // RANGE == 4
    return {"corrected": 1031}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[str]:
    """This test's own copy of the log (built once per database kind) and its keys."""
    yield from templates.copy(request.param, populate, tmp_path)


@pytest.fixture
def log(app: Flask, templates: Templates) -> dict[str, Any]:
    """What `populate` made, in this test's copy."""
    kind = "sqlite" if app.config["DATABASE_URL"].startswith("sqlite") else "postgresql"
    return templates.data(kind, populate)


def test_audit_passes_over_ranges(runner: FlaskCliRunner, log: dict[str, int]) -> None:
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    assert "audit passed: 1042 entries, 3 checkpoints, 1041 signatures verified" in result.output


def _tile(app: Flask, t: int, i: int) -> tuple[int, bytes]:
    with app.app_context(), db.engine().connect() as conn:
        width, data = conn.execute(
            text("SELECT width, hashes FROM ledger_tile WHERE level = :t AND idx = :i"),
            {"t": t, "i": i},
        ).one()
    return width, bytes(data)


def test_audit_names_tampering_in_any_range(
    app: Flask, runner: FlaskCliRunner, log: dict[str, int]
) -> None:
    """Each change is undone before the next: the same log is tampered with six ways."""
    change = "UPDATE ledger_tile SET hashes = :h WHERE level = :t AND idx = :i"
    # A node above the ranges (the parent's), inside a range at levels 4-7 and at the leaves
    # (a worker's): one hash changed in the tile that holds it.
    for (level, idx), first in (((10, 0), 0), ((5, 9), 9 * 32), ((0, 325), 325)):
        t, i = tile_of((level, idx))
        width, saved = _tile(app, t, i)
        at = 32 * (slot((level, idx), width) or 0)
        sql(app, change, h=saved[:at] + b"\x01" * 32 + saved[at + 32 :], t=t, i=i)
        result = run_audit(runner)
        assert result.exit_code == 1
        expected = f"entry {first}: stored tile ({t}, {i}): node ({level}, {idx}) does not match"
        assert expected in result.output, result.output
        sql(app, change, h=saved, t=t, i=i)

    a, b = stored_entry(app, 5), stored_entry(app, 900)
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 5", e=b)
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 900", e=a)
    result = run_audit(runner)
    assert result.exit_code == 1
    assert "entry 5:" in result.output, result.output
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 5", e=a)
    sql(app, "UPDATE ledger_entry SET entry = :e WHERE idx = 900", e=b)

    corrected = log["corrected"]
    served = "SELECT entry_hash FROM history_entry WHERE ledger_index = :i"
    entry_hash = value(app, served, i=corrected)
    change = "UPDATE history_entry SET entry_hash = :h WHERE ledger_index = :i"
    sql(app, change, h="00" * 32, i=corrected)
    result = run_audit(runner)
    assert result.exit_code == 1
    assert f"entry {corrected}: passport" in result.output, result.output
    assert "names another entry hash than the log's" in result.output, result.output
    sql(app, change, h=entry_hash, i=corrected)

    result = run_audit(runner)  # every change undone: the log audits clean again
    assert result.exit_code == 0, result.output
