"""Offline bundles of passports with lifecycle events: `dpp verify` checks the whole history."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from passport.core.errors import LedgerInconsistent
from passport.core.lifecycle.bundle import BundleInvalid, verify_bundle
from passport.core.lifecycle.chain import check_chain, check_links
from passport.core.lifecycle.states import Status
from tests.api.test_bundle import verify_cli
from tests.api.test_events import RECORDER, ROLES, event, issue, record
from tests.helpers import bearer

LIFE = ["place-on-market", "repair", "refurbish", "collect", "sort", "end-of-life"]


@pytest.fixture
def life(client: FlaskClient, runner: FlaskCliRunner, make_org: Any) -> dict[str, Any]:
    """A textile passport through a whole life; its bundle (auditor) and the log key."""
    orgs = {slug: make_org(slug, role) for slug, role in ROLES.items()}
    passport = issue(client, orgs["maker"])
    indices = []
    for kind in LIFE:
        response = record(client, orgs[RECORDER[kind]], passport, event(kind))
        assert response.status_code == 201, response.get_json()
        indices.append(response.get_json()["ledger_index"])
    url = f"/api/v1/passports/{passport}/bundle"
    return {
        "passport": passport,
        "indices": indices,
        "bundle": client.get(url, headers=bearer(orgs["auditor"])).get_data(),
        "log_key": runner.invoke(args=["log-key"]).stdout.strip(),
        "orgs": orgs,
    }


def test_the_bundle_of_a_whole_life_verifies(life: dict[str, Any], tmp_path: Path) -> None:
    history = verify_bundle(json.loads(life["bundle"]), log_key=life["log_key"])
    assert [e.kind for e in history.history] == ["passport:issued"] + [f"event:{k}" for k in LIFE]
    assert history.state.status is Status.END_OF_LIFE
    issuers = {e.body["credential"]["issuer"].rsplit(":", 1)[1] for e in history.history}
    assert issuers == {"maker", "repairer", "collector", "recycler"}
    assert set(json.loads(life["bundle"])["did_documents"]) == {
        f"did:web:dpp.example.nl:orgs:{slug}" for slug in issuers
    }
    path = tmp_path / "bundle.json"
    path.write_bytes(life["bundle"])
    result = verify_cli(path, life["log_key"])
    assert result.exit_code == 0, result.output
    assert "1 version(s) and 6 event(s)" in result.output
    assert "end-of-life" in result.output


def test_a_dropped_event_breaks_the_chain(life: dict[str, Any]) -> None:
    bundle = json.loads(life["bundle"])
    dropped = life["indices"][2]
    bundle["entries"] = [e for e in bundle["entries"] if e["index"] != dropped]
    bundle["restricted"] = [r for r in bundle["restricted"] if r["index"] != dropped]
    with pytest.raises(BundleInvalid) as caught:
        verify_bundle(bundle, log_key=life["log_key"])
    assert caught.value.step == "7 chain of versions and events"
    assert "sequence" in caught.value.detail


def test_two_swapped_events_are_refused(life: dict[str, Any]) -> None:
    """Swapped in the bundle, their inclusion proofs fail; swapped in the log itself (each
    still proven where it stands), the history's sequence numbers do."""
    bundle = json.loads(life["bundle"])
    first, second = (
        next(e for e in bundle["entries"] if e["index"] == i) for i in life["indices"][1:3]
    )
    first["entry"], second["entry"] = second["entry"], first["entry"]
    with pytest.raises(BundleInvalid) as caught:
        verify_bundle(bundle, log_key=life["log_key"])
    assert caught.value.step == "3 inclusion and canonical form of each entry"

    history = verify_bundle(json.loads(life["bundle"]), log_key=life["log_key"]).history
    a, b = history[2], history[3]
    swapped = (*history[:2], replace(b, index=a.index), replace(a, index=b.index), *history[4:])
    with pytest.raises(LedgerInconsistent, match="sequence"):
        check_chain(json.loads(life["bundle"])["passport"], swapped)


def test_an_event_after_its_key_was_revoked_is_refused(
    client: FlaskClient, runner: FlaskCliRunner, life: dict[str, Any]
) -> None:
    """The repairer's key is revoked as compromised from its second event on: the bundle of
    that history fails at the signature of that event, whatever the key's DID document says."""
    listed = runner.invoke(args=["key", "list", "repairer"]).stdout.splitlines()[1]
    key_id = listed.split()[0]
    since = life["indices"][2]
    revoked = runner.invoke(
        args=["key", "revoke", "repairer", key_id, "--compromised-since", str(since)]
    )
    assert revoked.exit_code == 0, revoked.output
    bundle = client.get(f"/api/v1/passports/{life['passport']}/bundle").get_data()
    with pytest.raises(BundleInvalid) as caught:
        verify_bundle(json.loads(bundle), log_key=life["log_key"])
    assert caught.value.step == "5 credential signatures and key validity by log position"
    assert str(since) in caught.value.detail


@pytest.fixture
def remanufactured(client: FlaskClient, runner: FlaskCliRunner, make_org: Any) -> dict[str, Any]:
    """A mattress remanufactured into a new passport: both bundles and the log key."""
    orgs = {slug: make_org(slug, role) for slug, role in ROLES.items()}
    old = issue(client, orgs["maker"], "mattress")
    response = record(client, orgs["remaker"], old, event("remanufacture"))
    assert response.status_code == 201, response.get_json()
    new = response.get_json()["successor"]["id"]
    return {
        "old": json.loads(client.get(f"/api/v1/passports/{old}/bundle").get_data()),
        "new": json.loads(client.get(f"/api/v1/passports/{new}/bundle").get_data()),
        "log_key": runner.invoke(args=["log-key"]).stdout.strip(),
    }


def test_both_bundles_of_a_remanufacture_verify_with_the_link(
    remanufactured: dict[str, Any],
) -> None:
    old = verify_bundle(remanufactured["old"], log_key=remanufactured["log_key"])
    assert old.state.status is Status.SUPERSEDED
    assert any('"passport:issued"' in e["entry"] and "predecessor" in e["entry"]
               for e in remanufactured["old"]["entries"])  # fmt: skip
    new = verify_bundle(remanufactured["new"], log_key=remanufactured["log_key"])
    assert new.state.status is Status.ACTIVE
    assert new.history[0].body["credential"]["predecessor"] == old.passport
    assert any('"event:remanufacture"' in e["entry"] for e in remanufactured["new"]["entries"])
    assert set(remanufactured["new"]["did_documents"]) == {"did:web:dpp.example.nl:orgs:remaker"}


@pytest.mark.parametrize("which", ["old", "new"])
def test_a_bundle_without_its_link_fails(remanufactured: dict[str, Any], which: str) -> None:
    bundle = remanufactured[which]

    def about_another(item: dict[str, Any]) -> bool:
        credential = json.loads(item["entry"]).get("credential")
        return (
            credential is not None and credential["credentialSubject"]["id"] != bundle["passport"]
        )

    assert sum(map(about_another, bundle["entries"])) == 1
    bundle["entries"] = [e for e in bundle["entries"] if not about_another(e)]
    with pytest.raises(BundleInvalid) as caught:
        verify_bundle(bundle, log_key=remanufactured["log_key"])
    assert caught.value.step == "9 links to the predecessor and successors"


def test_a_successor_naming_another_predecessor_does_not_point_back(
    remanufactured: dict[str, Any],
) -> None:
    old = verify_bundle(remanufactured["old"], log_key=remanufactured["log_key"])
    linked = [
        e for e in verify_bundle_history_entries(remanufactured["old"], remanufactured["log_key"])
        if e.body["credential"]["credentialSubject"]["id"] != old.passport
    ]  # fmt: skip
    [successor] = linked
    other = json.loads(json.dumps(successor.body))
    other["credential"]["predecessor"] = "https://dpp.example.nl/01/08712346012341/21/OTHER"
    with pytest.raises(LedgerInconsistent, match="does not point back"):
        check_links(old.passport, old.history, (replace(successor, body=other),))


def verify_bundle_history_entries(bundle: dict[str, Any], log_key: str) -> list[Any]:
    """Every history entry of a verified bundle (its own and the linked ones), in log order."""
    from passport.core.lifecycle.chain import LoggedEntry

    verify_bundle(bundle, log_key=log_key)
    found = []
    for item in bundle["entries"]:
        body = json.loads(item["entry"])
        if "credential" in body:
            found.append(LoggedEntry(item["index"], body["kind"], body, b""))
    return found
