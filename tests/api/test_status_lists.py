"""Lifecycle status for generic verifiers: W3C Bitstring Status Lists signed per organisation."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.test_events import ROLES, event, issue, record
from tests.api.test_issue import fetch_via
from tests.helpers import bearer, example
from tests.independent_verifier import verify


@pytest.fixture
def orgs(make_org: Callable[..., str]) -> dict[str, str]:
    return {slug: make_org(slug, role) for slug, role in ROLES.items()}


def status_of(client: FlaskClient, credential: dict[str, Any]) -> str:
    """What a verifier that knows only the W3C specification reads for `credential`."""
    entry = credential["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    url = entry["statusListCredential"]
    assert entry["id"] == f"{url}#{entry['statusListIndex']}"
    listed = client.get(url.removeprefix("https://dpp.example.nl")).get_json()
    verify(listed, fetch_via(client))
    assert listed["issuer"] == credential["issuer"]
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = listed["credentialSubject"]
    assert subject["statusPurpose"] == entry["statusPurpose"] == "message"
    encoded = subject["encodedList"]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert encoded.startswith("u")
    assert len(bits) * 8 >= 131_072
    size, position = entry["statusSize"], int(entry["statusListIndex"])
    value = int("".join(f"{byte:08b}" for byte in bits)[position * size : (position + 1) * size], 2)
    messages = {int(m["status"], 16): m["message"] for m in entry["statusMessage"]}
    assert len(messages) == 1 << size
    return messages[value]


def test_a_verifier_reads_active_superseded_and_end_of_life(
    client: FlaskClient, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"], "mattress")
    first = client.get(f"/api/v1/passports/{passport}").get_json()["credential"]
    assert status_of(client, first) == "active"
    product = example("mattress")["product"] | {"name": "Corrected name"}
    second = client.post(
        f"/api/v1/passports/{passport}/versions",
        json={"product": product},
        headers=bearer(orgs["maker"]),
    ).get_json()["credential"]
    assert second["credentialStatus"]["statusListIndex"] != first["credentialStatus"][
        "statusListIndex"]  # fmt: skip
    assert status_of(client, first) == "superseded"
    assert status_of(client, second) == "active"
    remade = record(client, orgs["remaker"], passport, event("remanufacture")).get_json()
    assert status_of(client, second) == "superseded"
    successor = remade["successor"]["credential"]
    assert successor["credentialStatus"]["statusListCredential"].endswith("/orgs/remaker/status/0")
    assert status_of(client, successor) == "active"
    record(client, orgs["recycler"], remade["successor"]["id"], event("end-of-life"))
    assert status_of(client, successor) == "end-of-life"


def test_every_issued_passport_has_its_own_place(client: FlaskClient, orgs: dict[str, str]) -> None:
    rows = [example("textile") for _ in range(5)]
    bulk = client.post("/api/v1/passports:bulk", json=rows, headers=bearer(orgs["maker"]))
    assert bulk.status_code == 201, bulk.get_json()
    places = set()
    for item in bulk.get_json()["passports"]:
        credential = client.get(f"/api/v1/passports/{item['id']}").get_json()["credential"]
        places.add(credential["credentialStatus"]["statusListIndex"])
        assert status_of(client, credential) == "active"
    assert len(places) == 5


@pytest.mark.parametrize("path", ["/orgs/nobody/status/0", "/orgs/maker/status/7",
                                  "/orgs/maker/status/-1"])  # fmt: skip
def test_unknown_lists_are_404(client: FlaskClient, orgs: dict[str, str], path: str) -> None:
    assert client.get(path).status_code == 404
