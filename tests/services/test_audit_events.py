"""`dpp audit` over a log with lifecycle events: each is checked like a version."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.api.test_events import RECORDER, ROLES, event, issue, record
from tests.helpers import correct, run_audit, sql


@pytest.fixture
def chain(client: FlaskClient, make_org: Any) -> dict[str, Any]:
    """A passport repaired, corrected after the repair, then collected; another one ended."""
    orgs = {slug: make_org(slug, role) for slug, role in ROLES.items()}
    passport = issue(client, orgs["maker"])
    indices = {}
    for kind in ("repair", "collect"):
        if kind == "collect":
            correct(client, orgs["maker"], passport)
        response = record(client, orgs[RECORDER[kind]], passport, event(kind))
        assert response.status_code == 201, response.get_json()
        indices[kind] = response.get_json()["ledger_index"]
    ended = issue(client, orgs["maker"], "mattress")
    assert record(client, orgs["recycler"], ended, event("end-of-life")).status_code == 201
    old = issue(client, orgs["maker"], "mattress")
    remade = record(client, orgs["remaker"], old, event("remanufacture"))
    assert remade.status_code == 201, remade.get_json()
    return {"passport": passport, "indices": indices, "successor": remade.get_json()["successor"]}


def test_audit_passes_with_events_and_a_correction_after_one(
    runner: FlaskCliRunner, chain: dict[str, Any]
) -> None:
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    deep = runner.invoke(args=["audit", "--restricted-signatures"])
    assert deep.exit_code == 0, deep.output


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE history_entry SET version = 3 WHERE ledger_index = :i", "out of order"),
        (
            "UPDATE history_entry SET kind = 'passport:corrected', version = 2"
            " WHERE ledger_index = :i",
            "another passport",
        ),
        (
            "UPDATE history_entry SET org_id = (SELECT id FROM organisation WHERE slug = 'auditor')"
            " WHERE ledger_index = :i",
            "another signer",
        ),
        (
            "UPDATE history_entry SET status_index = 5 WHERE passport_id ="
            " (SELECT passport_id FROM history_entry WHERE ledger_index = :i) AND sequence = 1",
            "status-list place",
        ),
    ],
)
def test_a_tampered_event_row_is_named(
    app: Flask, runner: FlaskCliRunner, chain: dict[str, Any], statement: str, named: str
) -> None:
    sql(app, statement, i=chain["indices"]["repair"])
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert named in result.output, result.output


def test_a_passport_row_that_forgets_its_predecessor_is_named(
    app: Flask, runner: FlaskCliRunner, chain: dict[str, Any]
) -> None:
    sql(app, "UPDATE passport SET predecessor_id = NULL WHERE id = :i", i=chain["successor"]["id"])
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "predecessors differ" in result.output, result.output


def test_a_link_stated_one_way_only_is_named() -> None:
    """The service writes both ends in one transaction, so the log itself is fabricated here."""
    from passport.services.ledger.audit.run import _check_links, _Ranges
    from passport.services.ledger.audit.tree import AuditFailed

    ranges = _Ranges(successors={("https://x/01/1", "https://x/01/2"): 7}, predecessors={})
    with pytest.raises(AuditFailed, match="entry 7: a remanufacture link does not point back"):
        _check_links(None, ranges, "https://x")  # type: ignore[arg-type]
