"""Bad input gives problem details naming the field; never a 500, never a partial write."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.helpers import bearer, example

PROBLEM = "application/problem+json"


def post(client: FlaskClient, token: str, **kwargs: Any) -> Any:
    return client.post("/api/v1/passports", headers=bearer(token), **kwargs)


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("https://dpp.example.nl/problems/")
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def textile_with(**changes: Any) -> dict[str, Any]:
    body = example("textile")
    body["product"].update(changes)
    return body


def test_empty_body(client: FlaskClient, maker: str) -> None:
    response = post(client, maker, data=b"", content_type="application/json")
    assert_problem(response, 422, "product")


def test_malformed_json(client: FlaskClient, maker: str) -> None:
    assert_problem(post(client, maker, data=b"{nope", content_type="application/json"), 400)


def test_empty_object_names_required_fields(client: FlaskClient, maker: str) -> None:
    body = assert_problem(post(client, maker, json={}), 422, "gtin")
    assert {"category", "granularity", "product"} <= set(body["errors"])


def test_wrong_types(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["gtin"] = 8712345678906
    assert_problem(post(client, maker, json=body), 422, "gtin")
    assert_problem(post(client, maker, json=textile_with(mass_g="heavy")), 422, "product.mass_g")
    assert_problem(post(client, maker, json=textile_with(mass_g=1200.0)), 422, "product.mass_g")


def test_fibre_sum_must_be_100(client: FlaskClient, maker: str) -> None:
    fibres = [{"fibre": "wool", "percent": 70}, {"fibre": "polyester", "percent": 29}]
    response = post(client, maker, json=textile_with(fibre_composition=fibres))
    assert_problem(response, 422, "product.fibre_composition")


def test_bad_check_digit(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["gtin"] = "08712345678907"
    problem = assert_problem(post(client, maker, json=body), 422, "gtin")
    assert "expected 6" in problem["errors"]["gtin"][0]


def test_unknown_fields(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["colour"] = "red"
    assert_problem(post(client, maker, json=body), 422, "colour")
    assert_problem(post(client, maker, json=textile_with(colour="red")), 422, "product.colour")


def test_no_token_is_401(client: FlaskClient) -> None:
    response = client.post("/api/v1/passports", json=example("textile"))
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(post(client, "dpp_not-a-token", json=example("textile")), 401)
    assert_problem(client.post("/api/v1/passports", json={}), 401)  # auth before parsing
    assert_problem(client.post("/api/v1/passports:bulk", data=b"x", content_type="text/csv"), 401)


def test_wrong_role_is_403(client: FlaskClient, make_org: Any) -> None:
    repairer = make_org("fixit", "repairer")
    assert_problem(post(client, repairer, json=example("textile")), 403)


def test_duplicate_id_is_409(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["serial"] = "ABC123"
    assert post(client, maker, json=body).status_code == 201
    assert_problem(post(client, maker, json=body), 409, "id")
    body["lot"] = "OTHER-LOT"  # same GTIN + serial under another lot is still the same item
    assert_problem(post(client, maker, json=body), 409, "id")


def test_unknown_passport_is_404(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/passports/01/08712345678906/21/NOPE"), 404)
    assert_problem(client.get("/api/v1/passports/not-a-link"), 404)
    assert_problem(client.get("/nowhere"), 404)


def test_serial_is_generated_random_and_unambiguous(client: FlaskClient, maker: str) -> None:
    serials = set()
    for _ in range(3):
        body = post(client, maker, json=example("textile")).get_json()
        serial = body["id"].split("/21/")[1]
        assert len(serial) == 13
        assert not set(serial) & set("ILOU")
        serials.add(serial)
    assert len(serials) == 3


def test_problem_type_uris_resolve(client: FlaskClient) -> None:
    body = client.get("/api/v1/passports/01/08712345678906").get_json()
    path = body["type"].removeprefix("https://dpp.example.nl")
    described = client.get(path).get_json()
    assert described["code"] == "not-found"
    assert described["description"]
