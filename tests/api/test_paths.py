"""A passport path is identifier/value pairs; an odd trailing segment names a sub-resource."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import bearer, example


def test_a_wrong_sub_resource_is_a_404_that_names_it(client: FlaskClient, maker: str) -> None:
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    assert issued.status_code == 201, issued.get_json()
    passport_id = issued.get_json()["id"]
    assert client.get(f"/api/v1/passports/{passport_id}").status_code == 200
    for name in ("versions", "nonsense"):
        answer = client.get(f"/api/v1/passports/{passport_id}/{name}")
        assert answer.status_code == 404
        assert answer.mimetype == "application/problem+json"
        detail = answer.get_json()["detail"]
        assert f"passport {passport_id} has no sub-resource {name!r}" in detail


def test_an_unknown_passport_is_a_404_that_names_it(client: FlaskClient) -> None:
    answer = client.get("/api/v1/passports/01/08712345678906/21/NOSUCHSERIAL")
    assert answer.status_code == 404
    assert "no passport 01/08712345678906/21/NOSUCHSERIAL" in answer.get_json()["detail"]


def test_slashes_at_either_end_of_an_id_are_ignored(client: FlaskClient, maker: str) -> None:
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    passport_id = issued.get_json()["id"]
    answer = client.get(f"/api/v1/passports/{passport_id}/")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["id"] == passport_id


def test_a_bulk_body_is_judged_before_its_idempotency_key(client: FlaskClient, maker: str) -> None:
    answer = client.post(
        "/api/v1/passports:bulk",
        data=b"\x00 not a body",
        headers={**bearer(maker), "Idempotency-Key": "\x01bad", "Content-Type": "text/plain"},
    )
    assert answer.status_code in (415, 422)
    assert "Idempotency-Key" not in answer.get_json().get("errors", {})
