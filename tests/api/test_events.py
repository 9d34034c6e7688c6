"""Recording lifecycle events over HTTP: signed by the actor, bound into the history."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from flask.testing import FlaskClient

from tests.api.test_issue import fetch_via
from tests.helpers import EXAMPLES, bearer, example
from tests.independent_verifier import verify

Client = FlaskClient
KINDS = sorted(p.stem for p in (EXAMPLES / "events").glob("*.json"))
# One organisation per role; each kind is recorded by the first role allowed to record it.
RECORDER = {
    "place-on-market": "maker",
    "transfer": "maker",
    "repair": "repairer",
    "refurbish": "repairer",
    "collect": "collector",
    "sort": "collector",
    "disassemble": "recycler",
    "end-of-life": "recycler",
    "remanufacture": "remaker",
    "recycle": "recycler",
}
ROLES = {
    "maker": "manufacturer",
    "repairer": "repairer",
    "collector": "collector",
    "recycler": "recycler",
    "remaker": "remanufacturer",
    "auditor": "auditor",
}


def event(kind: str) -> dict[str, Any]:
    """A fresh copy of `schemas/examples/events/{kind}.json`."""
    return example(f"events/{kind}")


@pytest.fixture
def orgs(make_org: Callable[..., str]) -> dict[str, str]:
    """A token per organisation of ROLES."""
    return {slug: make_org(slug, role) for slug, role in ROLES.items()}


def issue(client: Client, token: str, category: str = "textile") -> str:
    response = client.post("/api/v1/passports", json=example(category), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    passport: str = response.get_json()["id"]
    return passport


def record(
    client: Client, token: str, passport: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"/api/v1/passports/{passport}/events",
        json=body,
        headers=bearer(token) | (headers or {}),
    )


def test_every_example_is_one_kind_recorded_here() -> None:
    assert set(KINDS) == set(RECORDER)
    for kind in KINDS:
        assert event(kind)["kind"] == kind


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_verifies_independently_signed_by_the_actor(
    client: Client, orgs: dict[str, str], kind: str
) -> None:
    passport = issue(client, orgs["maker"], "mattress")
    actor = RECORDER[kind]
    response = record(client, orgs[actor], passport, event(kind))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    credential = body["credential"]
    assert credential["issuer"] == f"did:web:dpp.example.nl:orgs:{actor}"
    assert credential["credentialSubject"]["id"] == body["uri"]
    assert credential["credentialSubject"]["event"]["kind"] == kind
    assert credential["sequence"] == body["sequence"] == 2
    assert verify(credential, fetch_via(client)).startswith(credential["issuer"] + "#key-")
    for restricted in body["restricted"].values():
        verify(restricted, fetch_via(client))
    first = client.get(f"/api/v1/passports/{passport}/history").get_json()["entries"][0]
    issued_entry = client.get(f"/ledger/entries/{first['ledger_index']}").get_data()
    assert credential["previousEntry"] == hashlib.sha256(b"\x00" + issued_entry).hexdigest()
    entry = client.get(f"/ledger/entries/{body['ledger_index']}").get_data()
    assert rfc8785.dumps(credential) in entry


def test_the_r_strategy_names_its_ladder(client: Client, orgs: dict[str, str]) -> None:
    passport = issue(client, orgs["maker"])
    repaired = record(client, orgs["repairer"], passport, event("repair")).get_json()
    assert repaired["credential"]["credentialSubject"]["event"]["r_strategy"] == [
        {"ladder": "rvo-cbs-10", "step": "R4", "name": "repair"},
        {"ladder": "pbl-icer-6", "step": "R4", "name": "repair"},
    ]
    sorted_ = record(client, orgs["collector"], passport, event("sort")).get_json()
    steps = sorted_["credential"]["credentialSubject"]["event"]["r_strategy"]
    assert [(s["ladder"], s["step"]) for s in steps] == [("rvo-cbs-10", "R8"), ("pbl-icer-6", "R5")]


@pytest.mark.parametrize(
    ("actor", "kind"),
    [("maker", "repair"), ("repairer", "sort"), ("collector", "repair"), ("auditor", "collect"),
     ("recycler", "place-on-market"), ("repairer", "end-of-life")],
)  # fmt: skip
def test_a_role_that_may_not_record_the_kind_is_refused(
    client: Client, orgs: dict[str, str], actor: str, kind: str
) -> None:
    passport = issue(client, orgs["maker"])
    response = record(client, orgs[actor], passport, event(kind))
    assert response.status_code == 403, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert kind in response.get_json()["detail"]
    assert len(client.get(f"/api/v1/passports/{passport}/history").get_json()["entries"]) == 1


def test_only_the_issuer_places_its_product_on_the_market(
    client: Client, orgs: dict[str, str], make_org: Callable[..., str]
) -> None:
    passport = issue(client, orgs["maker"])
    other = make_org("other", "manufacturer")
    response = record(client, other, passport, event("place-on-market"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("first", "then", "state"),
    [
        ("end-of-life", "repair", "end-of-life"),
        ("end-of-life", "collect", "end-of-life"),
        ("place-on-market", "place-on-market", "already placed on the market"),
        ("disassemble", "repair", "disassembled"),
    ],
)
def test_an_event_the_state_does_not_allow_is_a_409_naming_the_state(
    client: Client, orgs: dict[str, str], first: str, then: str, state: str
) -> None:
    passport = issue(client, orgs["maker"])
    assert record(client, orgs[RECORDER[first]], passport, event(first)).status_code == 201
    response = record(client, orgs[RECORDER[then]], passport, event(then))
    assert response.status_code == 409, response.get_json()
    problem = response.get_json()
    assert problem["type"].endswith("wrong-state")
    assert state in problem["detail"]
    assert len(client.get(f"/api/v1/passports/{passport}/events").get_json()["events"]) == 1


def test_status_follows_the_events(client: Client, orgs: dict[str, str]) -> None:
    passport = issue(client, orgs["maker"])
    assert client.get(f"/api/v1/passports/{passport}/events").get_json()["status"] == "active"
    ended = record(client, orgs["recycler"], passport, event("end-of-life")).get_json()
    assert ended["status"] == "end-of-life"
    assert client.get(f"/api/v1/passports/{passport}/events").get_json()["status"] == "end-of-life"


def _sri(credential: dict[str, Any]) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(rfc8785.dumps(credential)).digest()).decode()


def test_each_reader_gets_the_tiers_its_role_allows(client: Client, orgs: dict[str, str]) -> None:
    passport = issue(client, orgs["maker"])
    recorded = record(client, orgs["recycler"], passport, event("disassemble")).get_json()
    assert set(recorded["restricted"]) == {"legitimate_interest", "authority"}
    path = f"/api/v1/passports/{passport}/events"
    anonymous = client.get(path)
    assert anonymous.get_json()["events"][0]["restricted"] == {}
    assert b"Matrasrecycling" not in anonymous.get_data()
    assert b"BGL-2026" not in anonymous.get_data()
    assert set(client.get(path, headers=bearer(orgs["repairer"])).get_json()["events"][0][
        "restricted"]) == {"legitimate_interest"}  # fmt: skip
    by_auditor = client.get(path, headers=bearer(orgs["auditor"])).get_json()["events"][0]
    assert set(by_auditor["restricted"]) == {"legitimate_interest", "authority"}
    by_actor = client.get(path, headers=bearer(orgs["recycler"])).get_json()["events"][0]
    assert by_actor["restricted"] == recorded["restricted"]
    related = {r["id"]: r["digestSRI"] for r in by_auditor["credential"]["relatedResource"]}
    for tier, credential in by_auditor["restricted"].items():
        assert credential["accessTier"] == tier
        assert related[credential["id"]] == _sri(credential)
    assert by_auditor["restricted"]["authority"]["credentialSubject"]["event"] == {
        "documents": [{"type": "waste transport document", "reference": "BGL-2026-118733"}]
    }


def test_history_holds_versions_and_events_in_ledger_order(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    record(client, orgs["repairer"], passport, event("repair"))
    corrected = client.post(
        f"/api/v1/passports/{passport}/versions",
        json={"product": example("textile")["product"]},
        headers=bearer(orgs["maker"]),
    )
    assert corrected.status_code == 201, corrected.get_json()
    assert corrected.get_json()["version"] == 2
    assert corrected.get_json()["sequence"] == 3
    record(client, orgs["repairer"], passport, event("refurbish"))
    entries = client.get(f"/api/v1/passports/{passport}/history").get_json()["entries"]
    assert [(e["sequence"], e["kind"], e["version"]) for e in entries] == [
        (1, "passport:issued", 1),
        (2, "event:repair", None),
        (3, "passport:corrected", 2),
        (4, "event:refurbish", None),
    ]
    indices = [e["ledger_index"] for e in entries]
    assert indices == sorted(indices)
    assert entries[2]["credential"]["supersedes"] == entries[0]["credential"]["id"]
    assert client.get(f"/api/v1/passports/{passport}").get_json()["version"] == 2


def test_an_idempotent_retry_answers_the_same_bytes_and_records_once(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    headers = {"Idempotency-Key": "scan-0001"}
    first = record(client, orgs["repairer"], passport, event("repair"), headers)
    again = record(client, orgs["repairer"], passport, event("repair"), headers)
    assert first.status_code == again.status_code == 201
    assert first.get_data() == again.get_data()
    assert len(client.get(f"/api/v1/passports/{passport}/events").get_json()["events"]) == 1
    other = event("repair") | {"condition": "fair"}
    reused = record(client, orgs["repairer"], passport, other, headers)
    assert reused.status_code == 409


def test_waiting_for_a_checkpoint_returns_the_inclusion_proof(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    response = client.post(
        f"/api/v1/passports/{passport}/events?wait=checkpoint",
        json=event("collect"),
        headers=bearer(orgs["collector"]),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["inclusion"]["index"] == body["ledger_index"]
    assert body["inclusion"]["tree_size"] > body["ledger_index"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b | {"kind": "teleport"}, "event.kind"),
        (lambda b: {k: v for k, v in b.items() if k != "kind"}, "event.kind"),
        (lambda b: b | {"kind": 7}, "event.kind"),
        (lambda b: b | {"mass_in_g": -1}, "event.mass_in_g"),
        (lambda b: b | {"mass_in_g": 1180.0}, "event.mass_in_g"),
        (lambda b: b | {"mass_in_g": "1180"}, "event.mass_in_g"),
        (lambda b: b | {"mass_out_g": 99_999}, "event.mass_out_g"),
        (lambda b: b | {"condition": "shiny"}, "event.condition"),
        (lambda b: b | {"occurred_at": "yesterday"}, "event.occurred_at"),
        (lambda b: b | {"occurred_at": "2026-02-30T10:00:00Z"}, "event.occurred_at"),
        (lambda b: b | {"occurred_at": "2999-01-01T10:00:00Z"}, "event.occurred_at"),
        (lambda b: b | {"customer_email": "a@b.nl"}, "event.customer_email"),
        (lambda b: {k: v for k, v in b.items() if k != "place"}, "event.place"),
        (lambda b: b | {"facility": {"name": "X", "gln": "8712345000005"}}, "event.facility.gln"),
        (lambda b: b | {"note": "a\u202eb"}, "event.note"),
    ],
)
def test_bad_fields_are_422_naming_the_field(
    client: Client, orgs: dict[str, str], change: Callable[[dict[str, Any]], Any], field: str
) -> None:
    passport = issue(client, orgs["maker"])
    response = record(client, orgs["repairer"], passport, change(event("repair")))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()
    assert client.get(f"/api/v1/passports/{passport}/events").get_json()["events"] == []


def test_a_recipient_consumer_carries_no_personal_data(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    body = event("transfer") | {"recipient": {"type": "consumer", "name": "J. Jansen"}}
    response = record(client, orgs["maker"], passport, body)
    assert response.status_code == 422
    assert "event.recipient" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"", "application/json", 422),
        (b"{", "application/json", 422),
        (b"[]", "application/json", 422),
        (b"null", "application/json", 422),
        (b'"repair"', "application/json", 422),
        (b"kind=repair", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies_are_problems(
    client: Client, orgs: dict[str, str], data: bytes, content_type: str, status: int
) -> None:
    passport = issue(client, orgs["maker"])
    response = client.post(
        f"/api/v1/passports/{passport}/events",
        data=data,
        headers=bearer(orgs["repairer"]) | {"Content-Type": content_type},
    )
    assert response.status_code == status, response.get_data()
    assert response.mimetype == "application/problem+json"


def test_unknown_passport_and_anonymous_writer(client: Client, orgs: dict[str, str]) -> None:
    missing = "01/08712345678906/21/NOSUCHSERIAL"
    assert record(client, orgs["repairer"], missing, event("repair")).status_code == 404
    assert client.get(f"/api/v1/passports/{missing}/events").status_code == 404
    passport = issue(client, orgs["maker"])
    anonymous = client.post(f"/api/v1/passports/{passport}/events", json=event("repair"))
    assert anonymous.status_code == 401


GTIN = "08712347000019"  # under the remanufacturer's prefix


def test_remanufacture_issues_a_successor_linked_both_ways(
    client: Client, orgs: dict[str, str]
) -> None:
    old = issue(client, orgs["maker"], "mattress")
    response = record(client, orgs["remaker"], old, event("remanufacture"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    successor = body["successor"]
    assert body["status"] == "superseded"
    assert successor["id"].startswith("01/08712347000019/21/")
    assert successor["version"] == 1
    assert successor["ledger_index"] == body["ledger_index"] + 1  # logged together, after it
    new_credential = successor["credential"]
    assert new_credential["issuer"] == "did:web:dpp.example.nl:orgs:remaker"
    assert new_credential["predecessor"] == body["uri"]
    assert body["credential"]["credentialSubject"]["event"]["successor"] == successor["uri"]
    verify(new_credential, fetch_via(client))
    verify(body["credential"], fetch_via(client))
    product = new_credential["credentialSubject"]["product"]
    assert product["name"] == event("remanufacture")["successor"]["changes"]["name"]
    assert product["mass_g"] == example("mattress")["product"]["mass_g"]
    read = client.get(f"/api/v1/passports/{successor['id']}").get_json()
    assert read["credential"] == new_credential
    assert client.get(f"/api/v1/passports/{old}/events").get_json()["status"] == "superseded"
    again = record(client, orgs["remaker"], old, event("remanufacture"))
    assert again.status_code == 409
    assert "superseded" in again.get_json()["detail"]
    repaired = record(client, orgs["repairer"], successor["id"], event("repair"))
    assert repaired.status_code == 201, repaired.get_json()


@pytest.mark.parametrize(
    ("successor", "status", "field"),
    [
        ({"gtin": "08712346000003"}, 403, "event.successor.gtin"),
        ({"gtin": "08712347000018"}, 422, "event.successor.gtin"),
        ({"gtin": GTIN, "changes": {"mass_g": 1.5}}, 422, "event.successor.product.mass_g"),
        ({"gtin": GTIN, "changes": {"colour": "red"}}, 422, "event.successor.product.colour"),
        ({"gtin": "08712347000019", "changes": {}, "product": {}}, 422, "event.successor.changes"),
        ({"gtin": "08712347000019", "granularity": "batch"}, 422, "event.successor.lot"),
        ({"changes": {}}, 422, "event.successor.gtin"),
    ],
)  # fmt: skip
def test_a_bad_successor_is_refused_naming_its_field(
    client: Client, orgs: dict[str, str], successor: dict[str, Any], status: int, field: str
) -> None:
    old = issue(client, orgs["maker"], "mattress")
    response = record(
        client, orgs["remaker"], old, event("remanufacture") | {"successor": successor}
    )
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    assert client.get(f"/api/v1/passports/{old}/events").get_json()["status"] == "active"


def test_recycling_ends_every_input_and_produces_lots_within_the_input_mass(
    client: Client, orgs: dict[str, str]
) -> None:
    main = issue(client, orgs["maker"], "mattress")
    other = issue(client, orgs["maker"], "mattress")
    body = event("recycle") | {"inputs": [other], "mass_in_g": 44000}
    response = record(client, orgs["recycler"], main, body)
    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert recorded["status"] == "end-of-life"
    stated = recorded["credential"]["credentialSubject"]["event"]
    assert stated["inputs"] == [recorded["uri"], f"https://dpp.example.nl/{other}"]
    assert stated["loss_g"] == 44000 - sum(o["mass_g"] for o in event("recycle")["outputs"])
    lots = recorded["lots"]
    assert [lot["material"] for lot in lots] == ["steel", "polyurethane_foam", "polyester"]
    assert [o["lot"] for o in stated["outputs"]] == [lot["uri"] for lot in lots]
    for lot in lots:
        assert lot["id"].startswith("01/087123480000")
        assert "/10/" in lot["id"]
        credential = lot["credential"]
        assert credential["issuer"] == "did:web:dpp.example.nl:orgs:recycler"
        assert credential["credentialSubject"]["lot"]["batch"] == stated["batch"]
        verify(credential, fetch_via(client))
        read = client.get(f"/api/v1/lots/{lot['id']}").get_json()
        assert read["remaining_g"] == read["mass_g"] == lot["mass_g"]
        assert read["credential"] == credential
    events = client.get(f"/api/v1/passports/{other}/events").get_json()
    assert events["status"] == "end-of-life"
    [consumed] = events["events"]
    assert consumed["credential"]["credentialSubject"]["event"]["batch"] == stated["batch"]
    verify(consumed["credential"], fetch_via(client))
    again = record(client, orgs["recycler"], other, event("recycle"))
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"mass_in_g": 100}, 422, "event.outputs"),
        ({"inputs": ["01/08712346012341/21/NOSUCH"]}, 404, "event.inputs.0"),
        ({"outputs": [{"material": "steel", "mass_g": 5, "gtin": "08712345678906"}]}, 403,
         "event.outputs.0.gtin"),
        ({"outputs": [{"material": "steel", "mass_g": 0, "gtin": "08712348000018"}]}, 422,
         "event.outputs.0.mass_g"),
        ({"outputs": []}, 422, "event.outputs"),
    ],
)  # fmt: skip
def test_a_bad_recycling_run_is_refused_naming_its_field(
    client: Client, orgs: dict[str, str], change: dict[str, Any], status: int, field: str
) -> None:
    main = issue(client, orgs["maker"], "mattress")
    response = record(client, orgs["recycler"], main, event("recycle") | change)
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    assert client.get(f"/api/v1/passports/{main}/events").get_json()["status"] == "active"


def test_the_epcis_export_of_every_kind_validates_against_the_official_schema(
    client: Client, orgs: dict[str, str]
) -> None:
    from tests.core.test_epcis import schema_errors

    lived = issue(client, orgs["maker"], "mattress")
    for kind in ("place-on-market", "transfer", "repair", "refurbish", "collect", "sort",
                 "disassemble", "recycle"):  # fmt: skip
        response = record(client, orgs[RECORDER[kind]], lived, event(kind))
        assert response.status_code == 201, (kind, response.get_json())
    remade = issue(client, orgs["maker"], "mattress")
    assert record(client, orgs["remaker"], remade, event("remanufacture")).status_code == 201
    ended = issue(client, orgs["maker"], "mattress")
    assert record(client, orgs["recycler"], ended, event("end-of-life")).status_code == 201
    seen: set[str] = set()
    for passport in (lived, remade, ended):
        response = client.get(f"/api/v1/passports/{passport}/events.epcis")
        assert response.status_code == 200
        assert response.mimetype == "application/ld+json"
        document = response.get_json(force=True)
        assert schema_errors(document) == []
        for item in document["epcisBody"]["eventList"]:
            seen.add(f"{item['type']} {item.get('bizStep', '').rsplit('/', 1)[-1]}")
    assert {"ObjectEvent commissioning", "ObjectEvent repairing", "ObjectEvent receiving",
            "ObjectEvent inspecting", "TransformationEvent recycling",
            "TransformationEvent remanufacturing", "ObjectEvent destroying"} <= seen  # fmt: skip


def test_an_idempotent_event_and_the_audit(
    client: Client, orgs: dict[str, str], runner: Any
) -> None:
    """Kept event responses (single, remanufacture, bulk) are checked by `dpp audit`."""
    passport = issue(client, orgs["maker"], "mattress")
    record(client, orgs["repairer"], passport, event("repair"), {"Idempotency-Key": "r-1"})
    record(client, orgs["remaker"], passport, event("remanufacture"), {"Idempotency-Key": "m-1"})
    other = issue(client, orgs["maker"])
    client.post(
        "/api/v1/events:bulk",
        json=[{"passport": other, **event("collect")}],
        headers=bearer(orgs["collector"]) | {"Idempotency-Key": "b-1"},
    )
    result = runner.invoke(args=["audit", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "3 responses kept for retries" in result.output


def test_the_remanufacturer_places_its_successor_on_the_market(
    client: Client, orgs: dict[str, str]
) -> None:
    old = issue(client, orgs["maker"], "mattress")
    new = record(client, orgs["remaker"], old, event("remanufacture")).get_json()["successor"]
    placed = record(client, orgs["remaker"], new["id"], event("place-on-market"))
    assert placed.status_code == 201, placed.get_json()


def test_the_bundle_gives_restricted_event_tiers_to_their_signer_and_roles_only(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    assert record(client, orgs["recycler"], passport, event("disassemble")).status_code == 201
    import json as _json

    def tiers(token: str) -> set[tuple[int, str]]:
        bundle = _json.loads(
            client.get(f"/api/v1/passports/{passport}/bundle", headers=bearer(token)).data
        )
        return {(r["credential"]["sequence"], r["tier"]) for r in bundle["restricted"]}

    maker = tiers(orgs["maker"])
    assert (2, "legitimate_interest") not in maker  # the manufacturer is no repairer
    assert (2, "authority") not in maker
    assert (1, "authority") in maker  # its own version
    assert {(2, "legitimate_interest"), (2, "authority")} <= tiers(orgs["recycler"])
    assert (2, "authority") not in tiers(orgs["repairer"])
