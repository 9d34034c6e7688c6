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
