"""Event data rules the JSON Schemas cannot say: times that exist, masses that balance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from passport.core.errors import InvalidInput
from passport.core.lifecycle.vocabulary import EventKind
from passport.core.product.access import Tier
from passport.core.product.gs1 import gtin_check_digit
from passport.core.product.rules import ProductRules
from passport.core.product.validation import Errors, add_error

ROOT = "event"


def _add(errors: Errors, path: str, message: str) -> None:
    add_error(errors, f"{ROOT}.{path}", message)


def _grams(data: Mapping[str, Any], field: str) -> int | None:
    value = data.get(field)
    return value if type(value) is int else None


def _sum_of(items: object) -> int:
    """The sum of the `mass_g` of the well-typed items of a list (schema errors aside)."""
    if not isinstance(items, list):
        return 0
    return sum(i["mass_g"] for i in items if isinstance(i, dict) and type(i.get("mass_g")) is int)


def _check_masses(data: dict[str, Any], errors: Errors) -> None:
    """What an act gives out never weighs more than what it took in and the parts it added."""
    mass_in, mass_out = _grams(data, "mass_in_g"), _grams(data, "mass_out_g")
    added = _sum_of(data.get("parts_replaced"))
    if mass_in is not None and mass_out is not None and mass_out > mass_in + added:
        parts = f" and {added} g of parts replaced" if added else ""
        _add(errors, "mass_out_g", f"is {mass_out} g, more than mass_in_g {mass_in} g{parts}")
    for field in ("components", "outputs"):
        total = _sum_of(data.get(field))
        if mass_in is not None and field in data and total > mass_in:
            _add(errors, field, f"masses sum to {total} g, more than mass_in_g {mass_in} g")


# The widest UTC offsets in use (and the widest EPCIS 2.0 allows).
_MAX_OFFSET = timedelta(hours=14)


def _check_time(data: dict[str, Any], errors: Errors) -> None:
    """The time of the act is a real date and time with a real offset (the schema checks only
    its shape)."""
    value = data.get("occurred_at")
    if isinstance(value, str):
        try:
            offset = datetime.fromisoformat(value).utcoffset()
        except ValueError:
            _add(errors, "occurred_at", f"{value!r} is not a valid date and time")
            return
        if offset is not None and abs(offset) > _MAX_OFFSET:
            _add(errors, "occurred_at", "its UTC offset is beyond ±14:00")


def _check_glns(data: dict[str, Any], errors: Errors) -> None:
    for field in ("facility", "recipient"):
        holder = data.get(field)
        gln = holder.get("gln") if isinstance(holder, dict) else None
        if isinstance(gln, str) and len(gln) == 13 and gln.isascii() and gln.isdigit():
            expected = gtin_check_digit(gln[:12])
            if int(gln[12]) != expected:
                _add(errors, f"{field}.gln", f"GLN check digit must be {expected}")


_RULES = (_check_time, _check_masses, _check_glns)


def event_rules(
    schemas: Mapping[str, Mapping[str, Any]], shared: Mapping[str, Any]
) -> ProductRules:
    """Build the event rules from `{kind: JSON Schema}` and the schema of the shared fields."""
    unknown = set(schemas) - {kind.value for kind in EventKind}
    if unknown:
        raise ValueError(f"event schemas for unknown kinds: {sorted(unknown)}")
    return ProductRules.from_schemas(
        schemas, root=ROOT, code_rules={kind: _RULES for kind in schemas}, shared=shared
    )


def parse_event(rules: ProductRules, body: object) -> tuple[EventKind, dict[Tier, dict[str, Any]]]:
    """Return an event request's kind and its fields split by tier; raise InvalidInput naming
    each bad field (`event.…`)."""
    if not isinstance(body, dict):
        raise InvalidInput("an event is a JSON object", errors={ROOT: ["must be an object"]})
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in rules.categories:
        known = ", ".join(rules.categories)
        raise InvalidInput(
            f"unknown event kind {kind!r}", errors={f"{ROOT}.kind": [f"must be one of: {known}"]}
        )
    data = rules.validate(kind, body)
    return EventKind(kind), rules.split_tiers(kind, data)
