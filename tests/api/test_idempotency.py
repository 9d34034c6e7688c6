"""Retries with an Idempotency-Key never append twice."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.helpers import bearer, example


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
