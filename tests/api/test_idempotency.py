"""Retries with an Idempotency-Key never append twice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from passport.services.ledger import checkpoints
from tests.api.test_protocol import manufacturer
from tests.helpers import bearer, example, sql, value


@pytest.fixture
def maker(runner: FlaskCliRunner) -> str:
    """The token of a manufacturer issuing under the examples' company prefix."""
    return manufacturer(runner, "maker")


def size(client: FlaskClient) -> int:
    return len(client.get("/api/v1/ledger/checkpoints").get_json() or [])


def ledger_size(client: FlaskClient) -> int:
    index = 0
    while client.get(f"/ledger/entries/{index}").status_code == 200:
        index += 1
    return index


def test_retry_returns_the_first_response_and_appends_once(
    client: FlaskClient, make_org: Any
) -> None:
    headers = {**bearer(make_org("maker", "manufacturer")), "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/passports", json=example("textile"), headers=headers)
    assert first.status_code == 201
    before = ledger_size(client)
    again = client.post("/api/v1/passports", json=example("textile"), headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert ledger_size(client) == before


def test_same_key_other_body_is_a_conflict(client: FlaskClient, make_org: Any) -> None:
    headers = {**bearer(make_org("maker", "manufacturer")), "Idempotency-Key": "k1"}
    assert (
        client.post("/api/v1/passports", json=example("textile"), headers=headers).status_code
        == 201
    )
    other = client.post("/api/v1/passports", json=example("mattress"), headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.get_json()["errors"]


def test_bulk_and_csv_retries(client: FlaskClient, make_org: Any) -> None:
    token = make_org("maker", "manufacturer")
    headers = {**bearer(token), "Idempotency-Key": "bulk-7"}
    rows = [example("textile") for _ in range(5)]
    first = client.post("/api/v1/passports:bulk", json=rows, headers=headers)
    before = ledger_size(client)
    again = client.post("/api/v1/passports:bulk", json=rows, headers=headers)
    assert again.get_json() == first.get_json()
    assert ledger_size(client) == before
    keys_are_per_organisation = client.post(
        "/api/v1/passports:bulk",
        json=rows,
        headers={**bearer(make_org("other", "manufacturer")), "Idempotency-Key": "bulk-7"},
    )
    assert keys_are_per_organisation.status_code == 201
    assert ledger_size(client) == before + 1 + 5  # the other's key registration and passports


def test_a_waited_retry_is_replayed_byte_for_byte(client: FlaskClient, maker: str) -> None:
    headers = {**bearer(maker), "Idempotency-Key": "wait-1"}
    url = "/api/v1/passports?wait=checkpoint"
    first = client.post(url, json=example("textile"), headers=headers)
    assert first.status_code == 201
    assert "inclusion" in first.get_json()
    before = ledger_size(client)
    again = client.post(url, json=example("textile"), headers=headers)
    assert (again.status_code, again.content_type) == (first.status_code, first.content_type)
    assert again.get_data() == first.get_data()
    assert ledger_size(client) == before


def test_a_waited_correction_is_replayed_byte_for_byte(client: FlaskClient, maker: str) -> None:
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    url = f"/api/v1/passports/{issued.get_json()['id']}/versions?wait=checkpoint"
    headers = {**bearer(maker), "Idempotency-Key": "fix-1"}
    body = {"product": example("textile")["product"]}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["inclusion"]["index"] == first.get_json()["ledger_index"]
    again = client.post(url, json=body, headers=headers)
    assert (again.status_code, again.content_type) == (first.status_code, first.content_type)
    assert again.get_data() == first.get_data()


def test_replays_are_byte_for_byte_without_waiting(client: FlaskClient, maker: str) -> None:
    for url, body in [
        ("/api/v1/passports", example("textile")),
        ("/api/v1/passports:bulk", [example("textile"), example("textile")]),
    ]:
        headers = {**bearer(maker), "Idempotency-Key": f"plain-{url}"}
        first = client.post(url, json=body, headers=headers)
        again = client.post(url, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.content_type == first.content_type
        assert again.get_data() == first.get_data()


def test_the_audit_accepts_kept_waited_responses(
    client: FlaskClient, runner: Any, maker: str
) -> None:
    headers = {**bearer(maker), "Idempotency-Key": "audited"}
    first = client.post(
        "/api/v1/passports?wait=checkpoint", json=example("textile"), headers=headers
    )
    assert first.status_code == 201
    result = runner.invoke(args=["audit"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("member", ["index", "leaf_hash", "hashes", "checkpoint"])
def test_the_audit_names_a_kept_inclusion_that_does_not_prove_its_entry(
    app: Flask,
    client: FlaskClient,
    runner: Any,
    maker: str,
    member: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checkpoints, "MIN_INTERVAL", timedelta(0))  # no wait for ?wait=…
    for _ in range(3):  # a tree of more than one entry, so a proof has hashes to change
        client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    headers = {**bearer(maker), "Idempotency-Key": "tampered"}
    first = client.post(
        "/api/v1/passports?wait=checkpoint", json=example("textile"), headers=headers
    )
    assert first.status_code == 201, first.get_json()
    kept = json.loads(value(app, "SELECT response FROM idempotency WHERE key = 'tampered'"))
    inclusion = kept["inclusion"]
    if member == "index":
        inclusion["index"] -= 1
    elif member == "leaf_hash":
        inclusion["leaf_hash"] = inclusion["hashes"][0]
    elif member == "hashes":
        inclusion["hashes"][0] = inclusion["leaf_hash"]
    else:
        inclusion["checkpoint"] = inclusion["checkpoint"].replace("\n\n", "\n\n— x ", 1)
    assert inclusion != json.loads(first.get_data())["inclusion"]
    sql(app, "UPDATE idempotency SET response = :r WHERE key = 'tampered'", r=json.dumps(kept))
    result = runner.invoke(args=["audit"])
    assert result.exit_code == 1
    assert f"entry {first.get_json()['ledger_index']}:" in result.output
    assert "inclusion proof" in result.output
