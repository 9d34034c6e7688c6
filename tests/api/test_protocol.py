"""HTTP protocol answers: 415 for a body of the wrong media type, Allow on every 405."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import bearer, example

PROBLEM = "application/problem+json"
EXAMPLE_PREFIX = "8712345"  # the GS1 company prefix of the examples' GTINs


def manufacturer(runner: FlaskCliRunner, slug: str) -> str:
    """Create a manufacturer issuing under the examples' company prefix; return its token."""
    args = ["org", "create", slug, "--name", slug.title(), "--role", "manufacturer"]
    created = runner.invoke(args=[*args, "--gcp", EXAMPLE_PREFIX])
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["token", "create", slug])
    assert token.exit_code == 0, token.output
    return token.stdout.strip()


@pytest.fixture
def maker(runner: FlaskCliRunner) -> str:
    """The token of organisation `maker`, a manufacturer under the examples' prefix."""
    return manufacturer(runner, "maker")


def issue(client: FlaskClient, token: str) -> str:
    answer = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert answer.status_code == 201, answer.get_json()
    passport_id: str = answer.get_json()["id"]
    return passport_id


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ({"category": "textile"}, "application/x-www-form-urlencoded"),
        (b'{"category": "textile"}', "text/plain"),
        (b"<passport/>", "application/xml"),
    ],
)
def test_a_body_of_another_media_type_is_415(
    client: FlaskClient, maker: str, data: object, content_type: str
) -> None:
    passport_id = issue(client, maker)
    for url in ("/api/v1/passports", f"/api/v1/passports/{passport_id}/versions"):
        answer = client.post(url, data=data, content_type=content_type, headers=bearer(maker))
        assert answer.status_code == 415, answer.get_data(as_text=True)
        assert answer.mimetype == PROBLEM
        assert "application/json" in answer.get_json()["detail"]


def test_json_media_types_are_accepted(client: FlaskClient, maker: str) -> None:
    import json

    data = json.dumps(example("textile"))
    for content_type in ("application/json", "application/json; charset=utf-8"):
        answer = client.post(
            "/api/v1/passports", data=data, content_type=content_type, headers=bearer(maker)
        )
        assert answer.status_code == 201, answer.get_json()


def test_no_body_at_all_is_still_a_422(client: FlaskClient, maker: str) -> None:
    answer = client.post("/api/v1/passports", headers=bearer(maker))
    assert answer.status_code == 422
    assert "product" in answer.get_json()["errors"]


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("put", "/api/v1/passports", {"GET", "POST"}),
        ("delete", "/api/v1/passports", {"GET", "POST"}),
        ("get", "/api/v1/events:bulk", {"POST"}),
        ("get", "/api/v1/passports:bulk", {"POST"}),
        ("post", "/ledger/checkpoint", {"GET"}),
        ("put", "/ledger/entries/0", {"GET"}),
        ("post", "/api/v1/ledger/checkpoints", {"GET"}),
    ],
)
def test_every_405_says_what_is_allowed(
    client: FlaskClient, method: str, url: str, allowed: set[str]
) -> None:
    answer = getattr(client, method)(url)
    assert answer.status_code == 405
    assert answer.mimetype == PROBLEM
    assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}


def test_passport_paths_405_with_allow(client: FlaskClient, maker: str) -> None:
    passport_id = issue(client, maker)
    for method, url, allowed in [
        ("put", f"/api/v1/passports/{passport_id}", "GET"),
        ("delete", f"/api/v1/passports/{passport_id}", "GET"),
        ("post", f"/api/v1/passports/{passport_id}", "GET"),
        ("put", f"/api/v1/passports/{passport_id}/versions", "POST"),
    ]:
        answer = getattr(client, method)(url, headers=bearer(maker))
        assert answer.status_code == 405, (method, url, answer.get_data(as_text=True))
        assert answer.mimetype == PROBLEM
        assert allowed in answer.headers["Allow"]
