"""Issuing and reading passports over HTTP, verified by an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from flask.testing import FlaskClient

from tests.helpers import ROOT, bearer, example
from tests.independent_verifier import VerificationFailed, verify


def fetch_via(client: FlaskClient) -> Any:
    """Return a DID fetcher that maps the did:web host to the test server."""

    def fetch(host: str, path: str) -> dict[str, Any]:
        assert host == "dpp.example.nl"
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        loaded: dict[str, Any] = response.get_json()
        return loaded

    return fetch


def tier_fields(category: str) -> dict[str, set[str]]:
    """Return the top-level product fields of each tier, read from the schema annotations."""
    schema = json.loads((ROOT / "schemas" / f"{category}.schema.json").read_text("utf-8"))
    tiers: dict[str, set[str]] = {}
    for name, prop in schema["properties"].items():
        tiers.setdefault(prop["x-access-tier"], set()).add(name)
    return tiers


@pytest.mark.parametrize("category", ["textile", "mattress"])
def test_issued_credentials_verify_independently(
    client: FlaskClient, make_org: Any, category: str
) -> None:
    token = make_org("maker", "manufacturer")
    response = client.post("/api/v1/passports", json=example(category), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    credential = body["credential"]
    assert credential["credentialSubject"]["id"] == body["uri"]
    assert body["uri"] == "https://dpp.example.nl/" + body["id"]
    assert credential["issuer"] == "did:web:dpp.example.nl:orgs:maker"
    method = verify(credential, fetch_via(client))
    assert method.startswith("did:web:dpp.example.nl:orgs:maker#key-")
    assert set(body["restricted"]) == set(tier_fields(category)) - {"public"}
    for restricted in body["restricted"].values():
        verify(restricted, fetch_via(client))


def test_changed_character_fails_independent_verification(
    client: FlaskClient, make_org: Any
) -> None:
    token = make_org("maker", "manufacturer")
    credential = client.post(
        "/api/v1/passports", json=example("textile"), headers=bearer(token)
    ).get_json()["credential"]
    credential["credentialSubject"]["product"]["mass_g"] += 1
    with pytest.raises(VerificationFailed):
        verify(credential, fetch_via(client))


def _sri(credential: dict[str, Any]) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(rfc8785.dumps(credential)).digest()).decode()


@pytest.mark.parametrize("category", ["textile", "mattress"])
def test_each_role_reads_exactly_its_tiers(
    client: FlaskClient, make_org: Any, category: str
) -> None:
    maker = make_org("maker", "manufacturer")
    recycler = make_org("recycler", "recycler")
    auditor = make_org("auditor", "auditor")
    other_maker = make_org("other", "manufacturer")
    issued = client.post("/api/v1/passports", json=example(category), headers=bearer(maker))
    path = f"/api/v1/passports/{issued.get_json()['id']}"
    fields = tier_fields(category)
    restricted_names = fields["legitimate_interest"] | fields["authority"]

    anonymous = client.get(path)
    assert anonymous.status_code == 200
    body = anonymous.get_json()
    assert body["restricted"] == {}
    assert set(body["credential"]["credentialSubject"]["product"]) <= fields["public"]
    raw = anonymous.get_data(as_text=True)
    for name in restricted_names:
        assert f'"{name}"' not in raw, name
    assert client.get(path, headers=bearer(other_maker)).get_json()["restricted"] == {}

    by_recycler = client.get(path, headers=bearer(recycler)).get_json()
    assert set(by_recycler["restricted"]) == {"legitimate_interest"}
    by_auditor = client.get(path, headers=bearer(auditor)).get_json()
    assert set(by_auditor["restricted"]) == {"legitimate_interest", "authority"}

    related = {r["id"]: r for r in by_auditor["credential"]["relatedResource"]}
    for tier, credential in by_auditor["restricted"].items():
        assert credential["accessTier"] == tier
        assert set(credential["credentialSubject"]["product"]) <= fields[tier]
        assert related[credential["id"]]["digestSRI"] == _sri(credential)
        assert related[credential["id"]]["mediaType"] == "application/vc"
        assert len(base64.urlsafe_b64decode(credential["salt"] + "==")) == 16


def test_did_document_lists_current_and_retired_keys(
    client: FlaskClient, make_org: Any, runner: Any
) -> None:
    token = make_org("maker", "manufacturer")
    old = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    rotated = runner.invoke(args=["key", "rotate", "maker"])
    assert rotated.exit_code == 0, rotated.output
    new = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    doc = client.get("/orgs/maker/did.json").get_json()
    assert doc["id"] == "did:web:dpp.example.nl:orgs:maker"
    assert len(doc["verificationMethod"]) == 2
    assert doc["assertionMethod"] == [m["id"] for m in doc["verificationMethod"]]
    old_method = verify(old.get_json()["credential"], fetch_via(client))
    new_method = verify(new.get_json()["credential"], fetch_via(client))
    assert old_method != new_method
    assert new_method.endswith(rotated.stdout.strip())


def test_correction_supersedes_and_chains(client: FlaskClient, make_org: Any) -> None:
    token = make_org("maker", "manufacturer")
    first = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    passport_id = first.get_json()["id"]
    product = example("textile")["product"]
    product["mass_g"] = 1190
    second = client.post(
        f"/api/v1/passports/{passport_id}/versions",
        json={"product": product},
        headers=bearer(token),
    )
    assert second.status_code == 201, second.get_json()
    body = second.get_json()
    assert body["version"] == 2
    assert body["sequence"] == 2
    assert body["credential"]["supersedes"] == first.get_json()["credential"]["id"]
    entry = rfc8785.dumps(
        {"v": 1, "kind": "passport:issued", "credential": first.get_json()["credential"]}
    )
    assert body["credential"]["previousEntry"] == hashlib.sha256(b"\x00" + entry).hexdigest()
    current = client.get(f"/api/v1/passports/{passport_id}").get_json()
    assert current["version"] == 2
    assert current["credential"]["credentialSubject"]["product"]["mass_g"] == 1190
    verify(body["credential"], fetch_via(client))


def test_only_the_issuer_corrects(client: FlaskClient, make_org: Any) -> None:
    maker = make_org("maker", "manufacturer")
    other = make_org("other", "manufacturer")
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    response = client.post(
        f"/api/v1/passports/{issued.get_json()['id']}/versions",
        json={"product": example("textile")["product"]},
        headers=bearer(other),
    )
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_context_defines_every_term(client: FlaskClient, make_org: Any) -> None:
    token = make_org("maker", "manufacturer")
    body = client.post(
        "/api/v1/passports", json=example("textile"), headers=bearer(token)
    ).get_json()
    context = client.get("/contexts/dpp/v1").get_json(force=True)["@context"]
    vc_terms = {
        "@context",
        "id",
        "type",
        "issuer",
        "validFrom",
        "credentialSubject",
        "relatedResource",
        "digestSRI",
        "mediaType",
        "proof",
        "credentialStatus",
    }
    for credential in [body["credential"], *body["restricted"].values()]:
        used = set(credential) | set(credential["credentialSubject"])
        for term in used - vc_terms:
            assert term in context, term
        for term in vc_terms & set(context):
            pytest.fail(f"context redefines VC 2.0 term {term}")
