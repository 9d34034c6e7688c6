"""EPCIS 2.0 export: valid against GS1's schema, one event per entry, mapped as documented."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker

from passport.core.errors import LedgerInconsistent
from passport.core.lifecycle.credentials import public_event
from passport.core.lifecycle.epcis import EPCIS_CONTEXT, epcis_document
from passport.core.lifecycle.vocabulary import EventKind

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "conformance/vectors/epcis/EPCIS-JSON-Schema.json")
    .read_bytes()
    .decode()
)
# jsonschema checks `uri` and `date-time` only with optional packages; the schema leans on both
# (extension members must be named by URIs), so the checks are made here (RFC 3986, RFC 3339).
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})*"
    r"(?:#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
)
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
FORMATS = FormatChecker(formats=())
FORMATS.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.fullmatch(value)))
FORMATS.checks("date-time", raises=ValueError)(
    lambda value: (
        not isinstance(value, str)
        or (bool(_DATE_TIME.fullmatch(value)) and bool(datetime.fromisoformat(value)))
    )
)
VALIDATOR = Draft7Validator(SCHEMA, format_checker=FORMATS)
FAST = jsonschema_rs.Draft7Validator(SCHEMA, validate_formats=True)

BASE = "https://dpp.example.nl"
NS = BASE + "/vocab/epcis/"
CREATED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
MATTRESS = BASE + "/01/08712345678906/21/X7QK2M9P"
NEIGHBOUR = BASE + "/01/08712345678906/21/R4TW8N2C"  # recycled in the same run
COAT = BASE + "/01/08712345678913/21/K3MZ7Q1D"
COAT_REMADE = BASE + "/01/08712345678920/21/P9HX4V6B"
SHIRTS = BASE + "/01/08712345678937/10/LOT-2026-07"  # a batch passport
SOFA = BASE + "/01/08712345678913/21/W2JN5T8R"
FOAM = BASE + "/01/08712346000010/10/FOAM-2026-001"
STEEL = BASE + "/01/08712346000027/10/STEEL-2026-001"
BATCH = "urn:uuid:5d1c3e0a-8f1e-4c55-9a57-0d7d3c2e9b11"
MAKER, FIXER, RECYCLER = (f"did:web:dpp.example.nl:orgs:{o}" for o in ("maker", "fix", "rec"))
PLACE = {"country": "NL", "province": "Gelderland", "municipality": "Ede"}
RUN: dict[str, Any] = {
    "batch": BATCH,
    "inputs": [MATTRESS, NEIGHBOUR],
    "outputs": [
        {"lot": FOAM, "material": "polyurethane foam", "mass_g": 9000},
        {"lot": STEEL, "material": "steel", "mass_g": 15000},
    ],
    "mass_in_g": 56000,
    "loss_g": 2000,
}
EPCIS_TERMS = {
    *("@context", "type", "schemaVersion", "creationDate", "epcisBody", "eventList", "eventID"),
    *("eventTime", "eventTimeZoneOffset", "recordTime", "epcList", "quantityList", "epcClass"),
    *("quantity", "uom", "action", "bizStep", "disposition", "destinationList", "destination"),
    *("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList", "ilmd"),
}


CONSUMER = {"type": "consumer", "name": "J. Jansen", "email": "j@jansen.nl"}  # a leak probe
SHOP = {"type": "organisation", "name": "Kringloop Ede", "gln": "8712345000004", "country": "NL"}
PART = {"part": "zip", "material": "nylon", "quantity": 1, "mass_g": 40}
REPAIRED: dict[str, Any] = {
    "condition": "good",
    "parts_replaced": [PART],
    "mass_in_g": 28000,
    "mass_out_g": 28010,
}
SPRINGS = {"component": "spring unit", "material": "steel", "mass_g": 15600}
DISASSEMBLED: dict[str, Any] = {
    "mass_in_g": 28400,
    "components": [{**SPRINGS, "destination": "recycling"}],
}
K = EventKind
Entries = list[tuple[int, str, dict[str, Any]]]


class Ledger:
    """Log history entries the way the service does, one ledger index after another."""

    def __init__(self) -> None:
        self.entries: Entries = []

    def _log(self, kind: str, vc: str, issuer: str, at: str, subject: dict[str, Any]) -> str:
        cid = uuid.UUID(int=len(self.entries) + 1).urn
        credential: dict[str, Any] = {"id": cid, "type": ["VerifiableCredential", vc]}
        credential["issuer"] = issuer
        credential |= {"validFrom": at, "credentialSubject": subject}
        self.entries.append((100 + 3 * len(self.entries), kind, credential))
        return cid

    def version(self, uri: str, at: str, granularity: str = "item", **more: str) -> str:
        """Log a passport version; `supersedes` makes it a correction."""
        subject: dict[str, Any] = {"id": uri, "type": "Product", "category": "mattress"}
        subject |= {"granularity": granularity, "product": {"name": "Nachtrust 90"}}
        if "predecessor" in more:
            subject["predecessor"] = more.pop("predecessor")
        kind = "passport:corrected" if more else "passport:issued"
        cid = self._log(kind, "DigitalProductPassport", MAKER, at, subject)
        self.entries[-1][2].update(more)
        return cid

    def event(self, uri: str, kind: EventKind, when: str, by: str = FIXER, **fields: Any) -> str:
        """Log an event that happened at `when`, signed an hour later."""
        event = public_event(kind, {"occurred_at": when, "place": PLACE, **fields})
        at = (datetime.fromisoformat(when) + timedelta(hours=1)).astimezone(UTC)
        subject = {"id": uri, "event": event}
        signed = at.isoformat().replace("+00:00", "Z")
        return self._log("event:" + kind.value, "LifecycleEventCredential", by, signed, subject)


def full_history() -> Ledger:
    """Every entry kind over six passports; remanufacture, recycling and end of life come last."""
    ledger = Ledger()
    issued = ledger.version(MATTRESS, "2026-03-02T08:00:00Z")
    ledger.version(MATTRESS, "2026-03-05T10:00:00Z", supersedes=issued)
    ledger.version(NEIGHBOUR, "2026-03-02T08:05:00Z")
    ledger.event(MATTRESS, K.PLACE_ON_MARKET, "2026-03-10T09:00:00+01:00", MAKER)
    ledger.event(MATTRESS, K.TRANSFER, "2026-04-11T15:30:00+02:00", MAKER, recipient=CONSUMER)
    ledger.event(MATTRESS, K.REPAIR, "2026-10-05T14:20:00+02:00", **REPAIRED)
    ledger.event(MATTRESS, K.REFURBISH, "2026-10-20T11:00:00-05:00", condition="as-new")
    ledger.event(MATTRESS, K.TRANSFER, "2026-11-01T10:00:00+01:00", recipient=SHOP)
    ledger.event(MATTRESS, K.COLLECT, "2026-11-20T08:00:00+01:00", RECYCLER, mass_in_g=28400)
    sorted_out = {"outcome": "recycling", "mass_in_g": 28400}
    ledger.event(MATTRESS, K.SORT, "2026-11-21T08:00:00+01:00", RECYCLER, **sorted_out)
    ledger.event(MATTRESS, K.DISASSEMBLE, "2026-11-23T13:00:00+01:00", RECYCLER, **DISASSEMBLED)
    ledger.event(MATTRESS, K.RECYCLE, "2026-12-01T09:00:00+01:00", RECYCLER, **RUN)
    ledger.event(NEIGHBOUR, K.RECYCLE, "2026-12-01T09:00:00+01:00", RECYCLER, **RUN)
    ledger.version(COAT, "2026-03-02T09:00:00Z")
    ledger.event(COAT, K.REMANUFACTURE, "2026-06-01T12:00:00Z", successor=COAT_REMADE)
    ledger.version(COAT_REMADE, "2026-06-01T13:00:00Z", predecessor=COAT)
    ledger.version(SHIRTS, "2026-03-02T09:30:00Z", "batch")
    burnt = {"outcome": "incinerated-with-energy-recovery"}
    ledger.event(SHIRTS, K.END_OF_LIFE, "2026-09-01T12:00:00+02:00", RECYCLER, **burnt)
    ledger.version(SOFA, "2026-03-02T09:40:00Z")
    ledger.event(SOFA, K.END_OF_LIFE, "2026-09-02T12:00:00+02:00", RECYCLER, outcome="landfilled")
    return ledger


def export(entries: Entries, passport: str = MATTRESS) -> dict[str, Any]:
    return epcis_document(entries, passport_uri=passport, base_url=BASE, created=CREATED)


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Return what both validators find wrong with `document` (empty when it is valid)."""
    found = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    return found + [f"jsonschema-rs: {e}" for e in FAST.iter_errors(document)]


def by_kind(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    events: dict[str, list[dict[str, Any]]] = {}
    for event in document["epcisBody"]["eventList"]:
        events.setdefault(event["dpp:entryKind"], []).append(event)
    return events


def keys(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield (path, key) for every object member below `value`, `@context` aside."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "@context":
                yield path, key
                yield from keys(item, f"{path}/{key}")
    elif isinstance(value, list):
        for item in value:
            yield from keys(item, path)


def test_the_full_history_is_a_valid_epcis_document() -> None:
    document = export(full_history().entries)
    assert schema_errors(document) == []
    assert document["@context"] == [EPCIS_CONTEXT, {"dpp": NS}]
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert document["creationDate"] == "2027-01-04T09:00:00Z"
    assert document["dpp:passport"] == MATTRESS
    assert len(document["epcisBody"]["eventList"]) == len(full_history().entries) - 1


def test_each_kind_maps_to_its_event_type_action_and_bizstep() -> None:
    seen = {
        kind: {(e["type"], e.get("action"), e["bizStep"], e.get("disposition")) for e in events}
        for kind, events in by_kind(export(full_history().entries)).items()
    }
    assert seen == {
        "passport:issued": {("ObjectEvent", "ADD", "commissioning", "active")},
        "passport:corrected": {("ObjectEvent", "OBSERVE", NS + "bizstep/correcting", None)},
        "event:place-on-market": {
            ("ObjectEvent", "OBSERVE", NS + "bizstep/placing_on_market", None)
        },
        "event:transfer": {("ObjectEvent", "OBSERVE", "accepting", None)},
        "event:repair": {("ObjectEvent", "OBSERVE", "repairing", None)},
        "event:refurbish": {("ObjectEvent", "OBSERVE", "repairing", None)},
        "event:collect": {("ObjectEvent", "OBSERVE", "receiving", None)},
        "event:sort": {("ObjectEvent", "OBSERVE", "inspecting", None)},
        "event:disassemble": {("ObjectEvent", "OBSERVE", "disassembling", None)},
        "event:remanufacture": {
            ("TransformationEvent", None, NS + "bizstep/remanufacturing", None)
        },
        "event:recycle": {("TransformationEvent", None, NS + "bizstep/recycling", None)},
        "event:end-of-life": {
            ("ObjectEvent", "DELETE", "destroying", "destroyed"),
            ("ObjectEvent", "DELETE", "decommissioning", None),
        },
    }


def test_remanufacture_and_recycling_are_transformations() -> None:
    events = by_kind(export(full_history().entries))
    [remade] = events["event:remanufacture"]
    assert (remade["inputEPCList"], remade["outputEPCList"]) == ([COAT], [COAT_REMADE])
    [run] = events["event:recycle"]
    assert run["eventID"] == BATCH
    assert run["inputEPCList"] == [MATTRESS, NEIGHBOUR]
    assert run["outputQuantityList"] == [
        {"epcClass": FOAM, "quantity": 9000, "uom": "GRM"},
        {"epcClass": STEEL, "quantity": 15000, "uom": "GRM"},
    ]
    assert run["ilmd"]["dpp:lots"][0] == {"dpp:lot": FOAM, "dpp:material": "polyurethane foam"}
    assert (run["dpp:massInG"], run["dpp:lossG"]) == (56000, 2000)
    assert "epcList" not in run
    assert "action" not in run
    [new] = [e for e in events["passport:issued"] if e.get("epcList") == [COAT_REMADE]]
    assert new["dpp:predecessor"] == COAT


def test_a_run_is_one_event_in_any_merge_of_histories() -> None:
    entries = full_history().entries
    mattress = [e for e in entries if e[2]["credentialSubject"]["id"] == MATTRESS]
    neighbour = [e for e in entries if e[2]["credentialSubject"]["id"] == NEIGHBOUR]
    runs = [
        by_kind(export(h))["event:recycle"] for h in (mattress, neighbour, neighbour + mattress)
    ]
    assert [len(r) for r in runs] == [1, 1, 1]
    # Each passport's own export names the run alike; a merge keeps the first record's time.
    assert {r[0]["eventID"] for r in runs} == {BATCH}
    assert runs[2][0] == runs[0][0]
    shuffled = entries.copy()
    random.Random(7).shuffle(shuffled)
    assert export(shuffled) == export(entries)


def test_records_of_one_run_must_agree() -> None:
    ledger = full_history()
    index, kind, credential = ledger.entries[12]
    event = credential["credentialSubject"]["event"]
    assert (kind, event["batch"]) == ("event:recycle", BATCH)
    event["loss_g"] = 2500
    with pytest.raises(LedgerInconsistent, match=f"ledger entry {index}"):
        export(ledger.entries)


def test_times_offsets_and_identifiers() -> None:
    ledger = full_history()
    events = {e["eventID"]: e for e in export(ledger.entries)["epcisBody"]["eventList"]}
    for _, _, credential in ledger.entries:
        if credential["id"] not in events:
            continue  # the second record of the recycling run
        event = events[credential["id"]]
        occurred = credential["credentialSubject"].get("event", {}).get("occurred_at")
        moment = datetime.fromisoformat(occurred or credential["validFrom"])
        assert datetime.fromisoformat(event["eventTime"]) == moment
        signed = datetime.fromisoformat(credential["validFrom"])
        assert datetime.fromisoformat(event["recordTime"]) == signed
        assert event["dpp:recordedBy"] == credential["issuer"]
    offsets = {e["dpp:entryKind"]: e["eventTimeZoneOffset"] for e in events.values()}
    assert offsets["event:repair"] == "+02:00"
    assert offsets["event:refurbish"] == "-05:00"
    assert offsets["event:remanufacture"] == "+00:00"  # written with Z
    assert offsets["passport:issued"] == "+00:00"


def test_custody_names_organisations_and_never_a_consumer() -> None:
    document = export(full_history().entries)
    to_consumer, to_shop = by_kind(document)["event:transfer"]
    assert to_consumer["dpp:recipient"] == {"dpp:type": "consumer"}
    assert "destinationList" not in to_consumer
    assert "Jansen" not in json.dumps(document)
    assert "jansen" not in json.dumps(document)
    assert to_shop["dpp:recipient"] == {
        "dpp:type": "organisation",
        "dpp:name": "Kringloop Ede",
        "dpp:country": "NL",
    }
    party = {"type": "possessing_party", "destination": "https://id.gs1.org/417/8712345000004"}
    assert to_shop["destinationList"] == [party]


def test_items_are_identifiers_and_batches_classes() -> None:
    events = by_kind(export(full_history().entries))
    lifetime = events["passport:issued"] + events["event:end-of-life"]
    batch = [e for e in lifetime if "quantityList" in e]
    assert [e["quantityList"] for e in batch] == [[{"epcClass": SHIRTS}]] * 2
    assert all("epcList" not in e for e in batch)
    assert events["event:repair"][0]["epcList"] == [MATTRESS]


def test_every_other_member_is_in_the_service_namespace() -> None:
    document = export(full_history().entries)
    for path, key in keys(document):
        assert key in EPCIS_TERMS or key.startswith("dpp:"), (path, key)
        assert "/dpp:" not in path or key.startswith("dpp:"), (path, key)
    own = {e["bizStep"] for e in document["epcisBody"]["eventList"] if "/" in e["bizStep"]}
    assert len(own) == 4
    assert all(step.startswith(NS + "bizstep/") for step in own)
    repair = by_kind(document)["event:repair"][0]
    place = {"dpp:country": "NL", "dpp:province": "Gelderland", "dpp:municipality": "Ede"}
    assert repair["dpp:place"] == place
    step = {"dpp:ladder": "rvo-cbs-10", "dpp:step": "R4", "dpp:name": "repair"}
    assert repair["dpp:rStrategy"][0] == step
    part = {"dpp:part": "zip", "dpp:material": "nylon", "dpp:quantity": 1, "dpp:massG": 40}
    assert repair["dpp:partsReplaced"] == [part]
    assert [repair[f"dpp:{m}"] for m in ("condition", "massInG", "massOutG")] == [
        "good",
        28000,
        28010,
    ]
    [sort] = by_kind(document)["event:sort"]
    assert sort["dpp:outcome"] == "recycling"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rStrategy", []),  # a member in neither vocabulary
        ("bizStep", "urn:epcglobal:cbv:bizstep:remanufacturing"),  # not in CBV
        ("eventTimeZoneOffset", "+15:00"),
        ("eventTime", "2026-13-01T00:00:00Z"),
        ("eventID", "not a uri"),
        ("action", None),
    ],
)
def test_the_validators_catch_an_invalid_export(key: str, value: object) -> None:
    document = export(full_history().entries)
    event = document["epcisBody"]["eventList"][0]
    event[key] = value
    if value is None:
        del event[key]
    errors = schema_errors(document)
    assert any(not e.startswith("jsonschema-rs") for e in errors)
    assert any(e.startswith("jsonschema-rs") for e in errors)


def _one(kind: str, subject: dict[str, Any], at: str = "2026-03-02T08:00:00Z") -> Entries:
    credential = {"id": uuid.UUID(int=1).urn, "issuer": MAKER, "validFrom": at}
    return [(1, kind, credential | {"credentialSubject": subject})]


ELSEWHERE = {"id": "https://elsewhere.example/01/08712345678906/21/A"}
BAD_CHECK_DIGIT = {"id": BASE + "/01/08712345678907/21/A"}
WRONG_KIND = {"id": MATTRESS, "event": {"kind": "collect"}}
TOO_FAR_EAST = {"kind": "repair", "occurred_at": "2026-10-05T14:20:00+14:30", "place": PLACE}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (_one("key:registered", {"id": MATTRESS}), "not an entry of a passport's history"),
        (_one("event:melt", {"id": MATTRESS}), "unknown event kind"),
        (_one("passport:issued", ELSEWHERE), "not a Digital Link of"),
        (_one("passport:issued", BAD_CHECK_DIGIT), "not a GS1 Digital Link"),
        (_one("passport:issued", {"id": MATTRESS}, "2026-03-02T08:00:00"), "has no offset"),
        (_one("event:repair", WRONG_KIND), "states a 'collect' event"),
        (_one("event:repair", {"id": MATTRESS, "event": TOO_FAR_EAST}), "EPCIS can state"),
    ],
)
def test_what_epcis_cannot_state_is_refused(entries: Entries, message: str) -> None:
    with pytest.raises(LedgerInconsistent, match=re.escape(message)):
        export(entries)


def test_a_naive_creation_time_is_refused() -> None:
    naive = CREATED.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        epcis_document([], passport_uri=MATTRESS, base_url=BASE, created=naive)


@given(
    minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    seconds=st.integers(min_value=0, max_value=100 * 365 * 86400),
    micros=st.sampled_from([0, 1, 500_000]),
)
def test_any_real_offset_is_stated_as_it_was(minutes: int, seconds: int, micros: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    moment = datetime(2000, 1, 1, tzinfo=zone) + timedelta(seconds=seconds, microseconds=micros)
    ledger = Ledger()
    ledger.version(MATTRESS, "2026-03-02T08:00:00Z")
    ledger.event(MATTRESS, K.REPAIR, moment.isoformat(), condition="good")
    document = export(ledger.entries)
    assert schema_errors(document) == []
    event = document["epcisBody"]["eventList"][1]
    sign = "-" if minutes < 0 else "+"
    assert event["eventTimeZoneOffset"] == f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    assert datetime.fromisoformat(event["eventTime"]) == moment
    assert datetime.fromisoformat(event["eventTime"]).utcoffset() == timedelta(minutes=minutes)
