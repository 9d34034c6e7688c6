"""Input limits answer with a problem naming the limit; problem documents stay small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from passport.core.limits import MAX_JSON_DEPTH, MAX_JSON_INTEGER
from tests.api.test_protocol import manufacturer
from tests.helpers import bearer, example


@pytest.fixture
def maker(runner: FlaskCliRunner) -> str:
    """The token of a manufacturer issuing under the examples' company prefix."""
    return manufacturer(runner, "maker")


PROBLEM = "application/problem+json"
MAX_PROBLEM_BYTES = 8_000  # a problem about one huge value stays this small


def nested(depth: int) -> str:
    """A JSON text of `depth` nested arrays."""
    return "[" * depth + "]" * depth


def with_product_field(name: str, raw_json: str) -> bytes:
    """The textile example with `product[name]` set to `raw_json`, spliced in as text."""
    body = example("textile")
    body["product"][name] = "@@"
    return json.dumps(body).replace('"@@"', raw_json).encode()


def post_json(client: FlaskClient, url: str, token: str, data: bytes) -> Any:
    return client.post(url, data=data, content_type="application/json", headers=bearer(token))


def limit_problem(response: Any, limit: str) -> dict[str, Any]:
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["type"].endswith("/problems/limit-exceeded")
    text = json.dumps(body)
    assert limit in text, text
    return body


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 5_000])
def test_deep_json_is_refused_naming_the_depth_limit(
    client: FlaskClient, maker: str, depth: int
) -> None:
    data = with_product_field("name", nested(depth - 2))  # the body and product are 2 levels
    limit_problem(post_json(client, "/api/v1/passports", maker, data), f"{MAX_JSON_DEPTH}")
    bulk = ("[" + data.decode() + "]").encode()
    limit_problem(post_json(client, "/api/v1/passports:bulk", maker, bulk), f"{MAX_JSON_DEPTH}")


def test_depth_at_the_limit_is_parsed(client: FlaskClient, maker: str) -> None:
    data = with_product_field("name", nested(MAX_JSON_DEPTH - 2))
    answer = post_json(client, "/api/v1/passports", maker, data)
    assert answer.status_code == 422  # parsed, then refused by the product schema
    assert "product.name" in answer.get_json()["errors"]


def test_a_correction_is_held_to_the_same_limits(client: FlaskClient, maker: str) -> None:
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    url = f"/api/v1/passports/{issued.get_json()['id']}/versions"
    limit_problem(
        post_json(client, url, maker, b'{"product": ' + nested(3000).encode() + b"}"), "64"
    )
    big = b'{"product": {"mass_g": 1' + b"0" * 5000 + b"}}"
    limit_problem(post_json(client, url, maker, big), str(MAX_JSON_INTEGER))


@pytest.mark.parametrize(
    "number", ["1" + "0" * 5000, "-" + "9" * 30, str(2**64 + 1), str(MAX_JSON_INTEGER + 1)]
)
def test_huge_integers_are_refused_naming_the_integer_limit(
    client: FlaskClient, maker: str, number: str
) -> None:
    data = with_product_field("mass_g", number)
    body = limit_problem(post_json(client, "/api/v1/passports", maker, data), str(MAX_JSON_INTEGER))
    assert "product.mass_g" in body["errors"]
    bulk = ("[" + data.decode() + "]").encode()
    limit_problem(post_json(client, "/api/v1/passports:bulk", maker, bulk), str(MAX_JSON_INTEGER))


def test_integers_up_to_the_limit_are_parsed(client: FlaskClient, maker: str) -> None:
    answer = post_json(
        client, "/api/v1/passports", maker, with_product_field("mass_g", str(MAX_JSON_INTEGER))
    )
    assert answer.status_code in (201, 422)
    assert not answer.get_json(force=True).get("type", "").endswith("limit-exceeded")


def test_the_limit_problem_type_describes_itself(client: FlaskClient) -> None:
    described = client.get("/problems/limit-exceeded").get_json()
    assert described["code"] == "limit-exceeded"
    assert str(MAX_JSON_DEPTH) in described["description"]


def test_a_huge_string_is_not_echoed(client: FlaskClient, maker: str) -> None:
    huge = "x" * 2_000_000
    body = example("textile")
    body["product"]["name"] = huge
    answer = client.post("/api/v1/passports", json=body, headers=bearer(maker))
    assert answer.status_code == 422
    assert len(answer.get_data()) < MAX_PROBLEM_BYTES
    messages = answer.get_json()["errors"]["product.name"]
    assert any("xxxx…" in m for m in messages), messages


def test_a_huge_key_and_many_fields_are_not_echoed(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["k" * 1_000_000] = 1
    for n in range(2_000):
        body[f"unknown{n}"] = n
    answer = client.post("/api/v1/passports", json=body, headers=bearer(maker))
    assert answer.status_code == 422
    assert len(answer.get_data()) < 20_000
    errors = answer.get_json()["errors"]
    assert all(len(key) <= 100 for key in errors)


def test_a_huge_bulk_row_is_not_echoed(client: FlaskClient, maker: str) -> None:
    body = example("textile")
    body["product"]["brand"] = "y" * 1_000_000
    answer = client.post("/api/v1/passports:bulk", json=[body], headers=bearer(maker))
    assert answer.status_code == 422
    assert len(answer.get_data()) < MAX_PROBLEM_BYTES


def test_a_huge_path_is_not_echoed(client: FlaskClient) -> None:
    answer = client.get("/api/v1/passports/01/08712345678906/21/" + "Z" * 100_000)
    assert answer.status_code == 404
    assert len(answer.get_data()) < MAX_PROBLEM_BYTES


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ('[{"product": {"mass_g": 1' + "0" * 5000 + "}}]", str(MAX_JSON_INTEGER)),
        ('[{"product": ' + nested(2000) + "}]", str(MAX_JSON_DEPTH)),
    ],
)
def test_dpp_import_names_the_limit(
    runner: FlaskCliRunner, maker: str, tmp_path: Path, text: str, limit: str
) -> None:
    file = tmp_path / "passports.json"
    file.write_text(text, "utf-8")
    result = runner.invoke(args=["import", str(file), "--org", "maker"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert limit in result.output
