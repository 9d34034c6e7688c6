"""A passport's history as a GS1 EPCIS 2.0 document (JSON-LD), for traceability systems.

One event per history entry, in ledger order; the records of one recycling run (one `batch`)
make one TransformationEvent, so histories merged state the run once. Entry kind → event:

- passport:issued → ObjectEvent ADD `commissioning`; passport:corrected → OBSERVE, own
  `correcting` (a new version of the data, not an error in an event: no error declaration);
- place-on-market → OBSERVE, own `placing_on_market` (the product was commissioned at issue);
- transfer → OBSERVE `accepting` (CBV: possession or ownership changes); an organisation's GLN
  is the destination (`possessing_party`); of a consumer only the word `consumer` is stated;
- repair, refurbish → OBSERVE `repairing`; collect → `receiving`; sort → `inspecting`;
  disassemble → `disassembling` (the product lives on; its unidentified parts in `dpp:components`);
- remanufacture → TransformationEvent, own `remanufacturing`: passport in, successor out;
- recycle → TransformationEvent, own `recycling`: the run's passports in, its lots out (grams);
- end-of-life → ObjectEvent DELETE `destroying` (incinerated) or `decommissioning` (landfilled).

The prefix `dpp` stands for `{base_url}/vocab/epcis/`, declared beside the EPCIS context (the
signing service names its terms under its own origin, as CBV asks of user vocabulary); its own
bizSteps are `{base_url}/vocab/epcis/bizstep/{name}`. Every member EPCIS lacks is `dpp:`-prefixed,
nested ones too. A Digital Link with a serial is an instance (`epcList`…), a batch, model or lot
a class (`quantityList`…). `eventID` is the credential's id, or the run's batch id. Places stay in
`dpp:place`: readPoint and bizLocation want GLNs, and none is invented. Only the public members
named here are exported, so nothing unforeseen (no consumer data) leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from passport.core.errors import InvalidInput, LedgerInconsistent
from passport.core.lifecycle.vocabulary import EndOfLifeOutcome, EventKind, event_kind
from passport.core.log.kinds import PASSPORT_KINDS, EntryKind
from passport.core.product.gs1 import Granularity, parse_path

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PREFIX = "dpp"
VOCAB_PATH = "/vocab/epcis/"
GRAMS = "GRM"  # UN/CEFACT Recommendation 20 code for the gram

History = Iterable[tuple[int, str, Mapping[str, Any]]]
_T = TypeVar("_T")

# bizStep of each observed kind: a CBV value, or a name in `_OWN_STEPS` (CBV has none for it).
_STEPS: Mapping[EventKind, str] = {
    EventKind.PLACE_ON_MARKET: "placing_on_market",
    EventKind.TRANSFER: "accepting",
    EventKind.REPAIR: "repairing",
    EventKind.REFURBISH: "repairing",
    EventKind.COLLECT: "receiving",
    EventKind.SORT: "inspecting",
    EventKind.DISASSEMBLE: "disassembling",
}
_OWN_STEPS = frozenset({"correcting", "placing_on_market", "remanufacturing", "recycling"})
# The public event members exported, beside those EPCIS states in its own terms.
_SCALARS = ("condition", "outcome", "mass_in_g", "mass_out_g", "loss_g")
_LISTS: Mapping[str, tuple[str, ...]] = {
    "r_strategy": ("ladder", "step", "name"),
    "parts_replaced": ("part", "material", "quantity", "mass_g"),
    "components": ("component", "material", "mass_g", "destination"),
}
_PLACE = ("country", "province", "municipality")
_BURNT = (EndOfLifeOutcome.INCINERATED, EndOfLifeOutcome.INCINERATED_WITH_ENERGY_RECOVERY)
_OBJECT_WHAT = ("epcList", "quantityList")


def epcis_document(
    history: History, *, passport_uri: str, base_url: str, created: datetime
) -> dict[str, Any]:
    """Return a passport's history as an EPCIS 2.0 document made at `created`.

    `history` holds `(ledger index, entry kind, public credential)` of `passport_uri` (or of
    several passports, merged) in any order; raise LedgerInconsistent naming a bad entry.
    """
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    namespace = base_url.rstrip("/") + VOCAB_PATH
    events: dict[str, dict[str, Any]] = {}
    for index, kind, credential in sorted(history, key=lambda entry: entry[0]):
        try:
            event = _event(kind, credential, namespace=namespace, base_url=base_url)
        except LedgerInconsistent as error:
            raise LedgerInconsistent(f"ledger entry {index} ({kind}): {error.detail}") from None
        kept = events.setdefault(event["eventID"], event)
        # The records of one recycling run differ only in when each was signed: the first stays.
        if {**kept, "recordTime": None} != {**event, "recordTime": None}:
            raise LedgerInconsistent(f"ledger entry {index} ({kind}) contradicts an earlier one")
    return {
        "@context": [EPCIS_CONTEXT, {PREFIX: namespace}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _rfc3339(created.astimezone(UTC)),
        _term("passport"): passport_uri,
        "epcisBody": {"eventList": list(events.values())},
    }


def _event(
    kind: str, credential: Mapping[str, Any], *, namespace: str, base_url: str
) -> dict[str, Any]:
    """Return the EPCIS event one history entry states."""
    subject = _member(credential, "credentialSubject", dict)
    passport = _member(subject, "id", str)
    recorded = _instant(_member(credential, "validFrom", str))
    event_id = _member(credential, "id", str)
    members: dict[str, Any]
    if kind in PASSPORT_KINDS:
        event_type, occurred = "ObjectEvent", recorded
        members = {**_what([passport], base_url), **_version(kind, credential, namespace)}
    elif (lifecycle := event_kind(kind)) is None:
        raise LedgerInconsistent("not an entry of a passport's history")
    else:
        event = _member(subject, "event", dict)
        if event.get("kind") != lifecycle.value:
            raise LedgerInconsistent(f"the credential states a {event.get('kind')!r} event")
        occurred = _instant(_member(event, "occurred_at", str))
        if lifecycle in (EventKind.REMANUFACTURE, EventKind.RECYCLE):
            event_type = "TransformationEvent"
            members = _transformation(lifecycle, passport, event, namespace, base_url)
        else:
            event_type = "ObjectEvent"
            members = {**_what([passport], base_url), **_observation(lifecycle, event, namespace)}
        if lifecycle is EventKind.RECYCLE:
            event_id = _member(event, "batch", str)  # one run, one event, whoever exports it
        members |= _extensions(event)
    return {
        "type": event_type,
        "eventID": event_id,
        "eventTime": _rfc3339(occurred),
        "eventTimeZoneOffset": _offset(occurred),
        "recordTime": _rfc3339(recorded.astimezone(UTC)),
        **members,
        _term("entryKind"): kind,
        _term("recordedBy"): _member(credential, "issuer", str),
    }


def _version(kind: str, credential: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """Return what a passport version adds: commissioning, or a correction, and its links."""
    members: dict[str, Any]
    if kind == EntryKind.PASSPORT_ISSUED:
        members = {"action": "ADD", "bizStep": "commissioning", "disposition": "active"}
    else:
        members = {"action": "OBSERVE", "bizStep": _step("correcting", namespace)}
    subject = credential["credentialSubject"]
    members |= _record(subject, ("category", "granularity"))
    # A remanufactured product's first version names the passport it was made from.
    predecessor = subject.get("predecessor", credential.get("predecessor"))
    if predecessor is not None:
        members[_term("predecessor")] = _scalar(predecessor, "predecessor")
    if "supersedes" in credential:
        members[_term("supersedes")] = _member(credential, "supersedes", str)
    return members


def _observation(kind: EventKind, event: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Return the action, bizStep and any disposition or destination of an ObjectEvent."""
    if kind is EventKind.END_OF_LIFE:
        outcome = event.get("outcome")
        if outcome == EndOfLifeOutcome.LANDFILLED:
            return {"action": "DELETE", "bizStep": "decommissioning"}
        if outcome not in _BURNT:
            raise LedgerInconsistent(f"unknown end-of-life outcome {outcome!r}")
        return {"action": "DELETE", "bizStep": "destroying", "disposition": "destroyed"}
    members: dict[str, Any] = {"action": "OBSERVE", "bizStep": _step(_STEPS[kind], namespace)}
    if kind is EventKind.TRANSFER:
        members |= _recipient(_member(event, "recipient", dict))
    return members


def _recipient(recipient: dict[str, Any]) -> dict[str, Any]:
    """Return who took custody: an organisation's name, country and GLN, or just `consumer`."""
    if recipient.get("type") == "consumer":
        return {_term("recipient"): {_term("type"): "consumer"}}
    if recipient.get("type") != "organisation":
        raise LedgerInconsistent(f"unknown recipient type {recipient.get('type')!r}")
    members: dict[str, Any] = {_term("recipient"): _record(recipient, ("type", "name", "country"))}
    if "gln" in recipient:  # 13 digits with a valid check digit, as the event rules require
        party = f"https://id.gs1.org/417/{_member(recipient, 'gln', str)}"
        members["destinationList"] = [{"type": "possessing_party", "destination": party}]
    return members


def _transformation(
    kind: EventKind, passport: str, event: dict[str, Any], namespace: str, base_url: str
) -> dict[str, Any]:
    """Return the inputs, outputs and bizStep of a remanufacture or of a recycling run."""
    if kind is EventKind.REMANUFACTURE:
        return {
            **_what([passport], base_url, "input"),
            **_what([_member(event, "successor", str)], base_url, "output"),
            "bizStep": _step("remanufacturing", namespace),
        }
    inputs, outputs, lots = _member(event, "inputs", list), [], []
    for output in _member(event, "outputs", list):
        lot, mass = _member(output, "lot", str), _member(output, "mass_g", int)
        if _is_instance(lot, base_url) or mass < 0:
            raise LedgerInconsistent(f"output {lot} is no lot with a mass in grams")
        outputs.append({"epcClass": lot, "quantity": mass, "uom": GRAMS})
        lots.append({_term("lot"): lot, **_record(output, ("material",))})
    if passport not in inputs or not outputs:
        raise LedgerInconsistent("a recycling run without outputs, or not consuming the passport")
    return {
        **_what(inputs, base_url, "input"),
        "outputQuantityList": outputs,
        "bizStep": _step("recycling", namespace),
        "ilmd": {_term("lots"): lots},
    }


def _what(uris: Iterable[object], base_url: str, side: str = "") -> dict[str, Any]:
    """Return Digital Links as an event's `epcList` (items) and `quantityList` (classes)."""
    epcs, classes = (f"{side}EPCList", f"{side}QuantityList") if side else _OBJECT_WHAT
    split = {str(uri): _is_instance(uri, base_url) for uri in uris}  # in order, each once
    instances = [uri for uri, item in split.items() if item]
    kinds = [{"epcClass": uri} for uri, item in split.items() if not item]
    return ({epcs: instances} if instances else {}) | ({classes: kinds} if kinds else {})


def _is_instance(uri: object, base_url: str) -> bool:
    """Return whether a Digital Link of the service names an item (it carries a serial)."""
    root = base_url.rstrip("/") + "/"
    if not isinstance(uri, str) or not uri.startswith(root):
        raise LedgerInconsistent(f"{uri!r} is not a Digital Link of {base_url}")
    try:
        return parse_path(uri.removeprefix(root)).granularity is Granularity.ITEM
    except InvalidInput:
        raise LedgerInconsistent(f"{uri} is not a GS1 Digital Link") from None


def _extensions(event: dict[str, Any]) -> dict[str, Any]:
    """Return the event's public members that EPCIS has no term for, as `dpp:` members."""
    members: dict[str, Any] = {_term("place"): _record(_member(event, "place", dict), _PLACE)}
    for key in _SCALARS:
        if key in event:
            members[_term(key)] = _scalar(event[key], key)
    for key, fields in _LISTS.items():
        if key in event:
            members[_term(key)] = [_record(item, fields) for item in _member(event, key, list)]
    return members


def _record(item: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """Return the named scalar members of an object, `dpp:`-prefixed; others are left out."""
    if not isinstance(item, Mapping):
        raise LedgerInconsistent(f"expected an object with {', '.join(fields)}")
    return {_term(field): _scalar(item[field], field) for field in fields if field in item}


def _scalar(value: object, name: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LedgerInconsistent(f"{name!r} is not text or a whole number")
    return value


def _member(holder: object, key: str, kind: type[_T]) -> _T:
    """Return `holder[key]`, which must be of `kind` (text not empty, a number not a boolean)."""
    value = holder.get(key) if isinstance(holder, Mapping) else None
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise LedgerInconsistent(f"{key!r} is missing or not of type {kind.__name__}")
    return value


def _instant(text: str) -> datetime:
    """Return an RFC 3339 date and time, which must carry its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LedgerInconsistent(f"{text!r} is not a date and time") from None
    if moment.tzinfo is None:
        raise LedgerInconsistent(f"{text!r} has no offset")
    return moment


def _offset(moment: datetime) -> str:
    """Return the offset of `moment` as EPCIS writes it (`+02:00`; UTC is `+00:00`)."""
    offset = moment.utcoffset() or timedelta()
    if offset % timedelta(minutes=1) or abs(offset) > timedelta(hours=14):  # EPCIS's range
        raise LedgerInconsistent(f"offset {offset} is not one EPCIS can state (±14:00, minutes)")
    sign = "-" if offset < timedelta() else "+"
    hours, minutes = divmod(abs(offset) // timedelta(minutes=1), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")  # only an offset has a plus sign


def _step(name: str, namespace: str) -> str:
    """Return a bizStep: the CBV value, or the service's own step under its namespace."""
    return f"{namespace}bizstep/{name}" if name in _OWN_STEPS else name


def _term(name: str) -> str:
    """Return the extension member for a field (`mass_in_g` → `dpp:massInG`)."""
    head, *rest = name.split("_")
    return f"{PREFIX}:{head}{''.join(part.capitalize() for part in rest)}"
