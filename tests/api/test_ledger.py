"""The log over HTTP, checked with independent code written from RFC 9162 and C2SP."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import ROOT, bearer, correct, example
from tests.independent_log import leaf, mth, open_note, verify_consistency, verify_inclusion


def log_key(runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["log-key"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def checkpoint(client: FlaskClient, runner: FlaskCliRunner) -> tuple[str, int, bytes]:
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return open_note(response.get_data(), log_key(runner))


def issue(client: FlaskClient, token: str, query: str = "", **changes: Any) -> dict[str, Any]:
    body = example("textile")
    body.update(changes)
    response = client.post(f"/api/v1/passports{query}", json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    loaded: dict[str, Any] = response.get_json()
    return loaded


def test_writes_name_their_entry_and_wait_gives_a_proof(
    client: FlaskClient, runner: FlaskCliRunner, make_org: Any
) -> None:
    token = make_org("maker", "manufacturer")
    first = issue(client, token)
    assert first["ledger_index"] == 1  # entry 0 registered the maker's key
    waited = issue(client, token, "?wait=checkpoint")
    proof = waited["inclusion"]
    origin, size, root = open_note(proof["checkpoint"].encode(), log_key(runner))
    assert origin == "dpp.example.nl/ledger"
    assert size > waited["ledger_index"] == proof["index"]
    entry = client.get(f"/ledger/entries/{waited['ledger_index']}").get_data()
    assert base64.b64decode(proof["leaf_hash"]) == leaf(entry)
    verify_inclusion(
        proof["index"], size, leaf(entry), [base64.b64decode(h) for h in proof["hashes"]], root
    )
    assert json.loads(entry)["credential"] == waited["credential"]


def test_checkpoints_and_proofs_verify_independently(
    client: FlaskClient, runner: FlaskCliRunner, make_org: Any
) -> None:
    token = make_org("maker", "manufacturer")
    sizes = []
    for batch in (1, 3, 2, 5):
        rows = [example("textile") for _ in range(batch)]
        assert (
            client.post("/api/v1/passports:bulk", json=rows, headers=bearer(token)).status_code
            == 201
        )
        sizes.append(issue(client, token, "?wait=checkpoint")["inclusion"])
    _origin, size, root = checkpoint(client, runner)
    entries = [client.get(f"/ledger/entries/{i}").get_data() for i in range(size)]
    leaves = [leaf(e) for e in entries]
    assert mth(leaves) == root
    for index in range(size):
        proof = client.get(f"/ledger/proof/inclusion?index={index}").get_json()
        assert proof["tree_size"] == size
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(index, size, leaves[index], hashes, root)
    for earlier in sizes:
        _o, old_size, old_root = open_note(earlier["checkpoint"].encode(), log_key(runner))
        assert mth(leaves[:old_size]) == old_root
        proof = client.get(f"/ledger/proof/consistency?from={old_size}&to={size}").get_json()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_consistency(old_size, size, old_root, root, hashes)


@pytest.mark.parametrize(
    "query",
    ["index=5&tree_size=5", "index=-1", "index=x", "index=0&tree_size=999", ""],
)
def test_bad_proof_requests_are_400s(client: FlaskClient, make_org: Any, query: str) -> None:
    token = make_org("maker", "manufacturer")
    issue(client, token, "?wait=checkpoint")
    response = client.get(f"/ledger/proof/inclusion?{query}")
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"


def restricted_fields(category: str) -> set[str]:
    """The product fields the category's schema puts in a tier other than public."""
    schema = json.loads((ROOT / "schemas" / f"{category}.schema.json").read_text("utf-8"))
    return {
        name
        for name, field in schema["properties"].items()
        if field.get("x-access-tier", "public") != "public"
    }


def test_nothing_restricted_on_the_ledger_or_in_anonymous_bundles(
    client: FlaskClient, make_org: Any
) -> None:
    token = make_org("maker", "manufacturer")
    issued = [issue(client, token, **example(category)) for category in ("textile", "mattress")]
    issued.append(correct(client, token, issued[0]["id"]))
    names = restricted_fields("textile") | restricted_fields("mattress")
    assert {"coatings_and_prints", "layers", "facility_of_manufacture"} <= names
    secrets_, values = [], []
    for passport in issued:
        assert set(passport["restricted"]) == {"legitimate_interest", "authority"}
        for credential in passport["restricted"].values():
            secrets_.append(credential["salt"])
            for name, value in credential["credentialSubject"]["product"].items():
                assert name in names
                # As JCS writes it; scalars that short could occur in public fields by chance.
                written = json.dumps(
                    value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
                if len(written) >= 12:
                    values.append(written)
    assert len(values) >= 9  # every restricted field of both examples is a distinctive value
    size = checkpoint_size(client)
    texts = [client.get(f"/ledger/entries/{i}").get_data(as_text=True) for i in range(size)]
    texts.append(client.get("/ledger/checkpoint").get_data(as_text=True))
    for passport in issued[1:]:
        texts.append(
            client.get(f"/api/v1/passports/{passport['id']}/bundle").get_data(as_text=True)
        )
    for text in texts:
        for secret in [*secrets_, *values]:
            assert secret not in text
        for name in names:
            assert f'"{name}"' not in text


def checkpoint_size(client: FlaskClient) -> int:
    return int(client.get("/ledger/checkpoint").get_data(as_text=True).split("\n")[1])


def test_only_auditors_list_checkpoints(client: FlaskClient, make_org: Any) -> None:
    maker = make_org("maker", "manufacturer")
    auditor = make_org("audit", "auditor")
    issue(client, maker, "?wait=checkpoint")
    assert client.get("/api/v1/ledger/checkpoints").status_code == 401
    assert client.get("/api/v1/ledger/checkpoints", headers=bearer(maker)).status_code == 403
    listed = client.get("/api/v1/ledger/checkpoints", headers=bearer(auditor)).get_json()
    assert listed
    assert listed[0]["size"] == checkpoint_size(client)
