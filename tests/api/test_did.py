"""DID documents over HTTP: a revoked key leaves `assertionMethod`; the log still decides."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from passport.core.lifecycle.bundle import verify_bundle_bytes
from tests.api.test_issue import fetch_via
from tests.helpers import bearer, example, run_audit
from tests.independent_verifier import VerificationFailed, verify


def test_a_revoked_key_leaves_the_did_document_but_old_bundles_verify(
    client: FlaskClient, runner: FlaskCliRunner, make_org: Any
) -> None:
    """Before: a key revoked with `dpp key revoke` stayed an assertion method, so a verifier
    reading only the DID document still accepted anything signed with it."""
    token = make_org("maker", "manufacturer")
    auditor = make_org("audit", "auditor")
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    credential = issued.get_json()["credential"]
    old_method = verify(credential, fetch_via(client))
    old_key = old_method.split("#", 1)[1]
    assert runner.invoke(args=["key", "rotate", "maker"]).exit_code == 0
    revoked = runner.invoke(args=["key", "revoke", "maker", old_key])
    assert revoked.exit_code == 0, revoked.output

    document = client.get("/orgs/maker/did.json").get_json()
    methods = {m["id"]: m for m in document["verificationMethod"]}
    assert old_method in methods
    assert "revoked" in methods[old_method]
    assert methods[old_method]["revoked"].endswith("Z")
    assert old_method not in document["assertionMethod"]
    assert len(document["assertionMethod"]) == 1
    with pytest.raises(VerificationFailed, match="not an assertion method"):
        verify(credential, fetch_via(client))

    listed = runner.invoke(args=["key", "list", "maker"]).stdout
    state = next(line for line in listed.splitlines() if line.startswith(old_key))
    assert "revoked 20" in state

    # Signed before the revocation: still valid by log position, in the bundle and the audit.
    bundle = client.get(
        f"/api/v1/passports/{issued.get_json()['id']}/bundle", headers=bearer(auditor)
    ).get_data()
    log_key = runner.invoke(args=["log-key"]).stdout.strip()
    assert verify_bundle_bytes(bundle, log_key=log_key).passport
    assert "revoked" not in json.dumps(json.loads(bundle)["did_documents"])
    assert run_audit(runner).exit_code == 0


def test_a_rotated_key_stays_an_assertion_method(
    client: FlaskClient, runner: FlaskCliRunner, make_org: Any
) -> None:
    token = make_org("maker", "manufacturer")
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert runner.invoke(args=["key", "rotate", "maker"]).exit_code == 0
    document = client.get("/orgs/maker/did.json").get_json()
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]
    verify(issued.get_json()["credential"], fetch_via(client))
    assert "retired" in runner.invoke(args=["key", "list", "maker"]).stdout
