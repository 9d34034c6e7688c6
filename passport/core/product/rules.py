"""Product data rules: JSON Schema per category, the rules it cannot say, and access tiers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import MappingProxyType
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from passport.core.errors import InvalidInput
from passport.core.product.access import Tier
from passport.core.product.gs1 import gtin_check_digit
from passport.core.product.text import check_text

CATEGORIES = ("textile", "mattress")  # the product categories a passport may have

ROOT = "product"
TIER_KEY = "x-access-tier"
UNKNOWN = "unknown field: not in the schema"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_int(_checker: object, instance: object) -> bool:
    # Signed payloads carry no floats: 80.0 is refused, and so is True (a bool is an int).
    return type(instance) is int


def _is_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return bool(_DATE.fullmatch(instance)) and bool(date.fromisoformat(instance))


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # ECMA-262 `$` ends the string; Python's also matches before a final newline.
    return re.compile(re.sub(r"(?<!\\)\$$", r"\\Z", pattern))


def _pattern(_v: object, pattern: str, instance: object, _s: object) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date", raises=ValueError)(_is_date)
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_int, "number": _is_int})
_KEYWORDS = {"pattern": _pattern}
_Validator = validators.extend(Draft202012Validator, _KEYWORDS, type_checker=_TYPES)

Errors = dict[str, list[str]]
CodeRule = Callable[[dict[str, Any], Errors], None]


def _add(errors: Errors, path: str, message: str) -> None:
    if message not in (msgs := errors.setdefault(path, [])):
        msgs.append(message)


def _ints(items: object, key: str) -> Iterator[tuple[int, dict[str, Any], int]]:
    """Yield (index, item, item[key]) for the well-typed items of a list (schema errors aside)."""
    if isinstance(items, list):
        for idx, item in enumerate(items):
            if isinstance(item, dict) and type(item.get(key)) is int:
                yield idx, item, item[key]


def _schema_errors(validator: Any, data: object, errors: Errors) -> None:
    for error in validator.iter_errors(data):
        path = ".".join([ROOT, *(str(p) for p in error.absolute_path)])
        kind = error.validator
        if kind == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    _add(errors, f"{path}.{name}", "is required")
        elif kind == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            patterns = [_regex(p) for p in error.schema.get("patternProperties", {})]
            for name in error.instance:
                if name not in known and not any(p.search(name) for p in patterns):
                    _add(errors, f"{path}.{name}", UNKNOWN)
        elif kind == "type":
            got = type(error.instance).__name__
            _add(errors, path, f"must be of type {error.validator_value}, got {got}")
        else:
            _add(errors, path, error.message)


def _check_fibres(data: dict[str, Any], errors: Errors) -> None:
    """Check fibre percents sum to 100, each fibre appears once, and the elastane share agrees."""
    fibres = data.get("fibre_composition")
    total, seen = 0, set()
    for idx, item, percent in _ints(fibres, "percent"):
        total += percent
        fibre = item.get("fibre")
        if fibre in seen:
            _add(errors, f"{ROOT}.fibre_composition.{idx}.fibre", f"fibre {fibre!r} listed twice")
        seen.add(fibre)
    if isinstance(fibres, list) and fibres and total != 100:
        _add(errors, f"{ROOT}.fibre_composition", f"percents sum to {total}, must be exactly 100")
    elastane = data.get("elastane_share_percent")
    if type(elastane) is int and isinstance(fibres, list):
        listed = sum(
            p for _, item, p in _ints(fibres, "percent") if item.get("fibre") == "elastane"
        )
        if elastane != listed:
            msg = f"is {elastane} but fibre_composition lists {listed}% elastane"
            _add(errors, f"{ROOT}.elastane_share_percent", msg)


def _check_parts(field: str) -> CodeRule:
    """Return a rule that the masses of the parts listed under `field` stay within mass_g."""

    def check(data: dict[str, Any], errors: Errors) -> None:
        mass = data.get("mass_g")
        parts = sum(m for _, _, m in _ints(data.get(field), "mass_g"))
        if type(mass) is int and parts > mass:
            _add(errors, f"{ROOT}.{field}", f"masses sum to {parts} g, more than mass_g {mass} g")

    return check


def _check_recycled(data: dict[str, Any], errors: Errors) -> None:
    """Check recycled shares and lot masses fit the product and back every claimed share."""
    entries, mass = data.get("recycled_content"), data.get("mass_g")
    if not isinstance(entries, list) or type(mass) is not int or mass <= 0:
        return
    path = f"{ROOT}.recycled_content"
    shares = sum(share for _, _, share in _ints(entries, "share_percent"))
    if shares > 100:
        _add(errors, path, f"shares sum to {shares}%, more than 100%")
    total, lots_seen = 0, set()
    for idx, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        drawn = 0
        for jdx, lot, lot_mass in _ints(entry.get("lots"), "mass_g"):
            drawn += lot_mass
            lot_id = lot.get("lot_id")
            if lot_id in lots_seen:
                _add(errors, f"{path}.{idx}.lots.{jdx}.lot_id", f"lot {lot_id!r} listed twice")
            lots_seen.add(lot_id)
        total += drawn
        share = entry.get("share_percent")
        # A share is backed when it does not exceed the lots' share rounded half up.
        if type(share) is int and drawn and share > (200 * drawn + mass) // (2 * mass):
            msg = f"claims {share}% of {mass} g but its lots hold only {drawn} g"
            _add(errors, f"{path}.{idx}.share_percent", msg)
    if total > mass:
        _add(errors, path, f"lot masses sum to {total} g, more than mass_g {mass} g")


_GLNS = (
    ("manufacturer", "gln"),
    ("facility_of_manufacture", "gln"),
    ("take_back_scheme", "operator_gln"),
)


def _check_glns(data: dict[str, Any], errors: Errors) -> None:
    """Check the GS1 check digit of every 13-digit GLN the product names."""
    for field, key in _GLNS:
        holder = data.get(field)
        gln = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(gln, str) and len(gln) == 13 and gln.isascii() and gln.isdigit():
            expected = gtin_check_digit(gln[:12])
            if int(gln[12]) != expected:
                _add(errors, f"{ROOT}.{field}.{key}", f"GLN check digit must be {expected}")


_COMMON_RULES: tuple[CodeRule, ...] = (_check_recycled, _check_glns)
_RULES: Mapping[str, tuple[CodeRule, ...]] = {
    "textile": (_check_fibres, _check_parts("trims"), *_COMMON_RULES),
    "mattress": (_check_parts("layers"), *_COMMON_RULES),
}


@dataclass(frozen=True, slots=True)
class _Category:
    # `fast` (compiled, Rust) decides validity; `validator` (Python) explains a refusal field by
    # field. JSON Schema counts 80.0 as an integer, so floats are refused separately.
    fast: Any
    validator: Any
    schema: Mapping[str, Any]
    tiers: Mapping[str, Tier]
    rules: tuple[CodeRule, ...]


@cache
def _check_schema(text: bytes) -> None:
    """Refuse a schema that is not valid JSON Schema 2020-12; each distinct schema is checked
    once per process (the check walks the meta-schema: about 0.1 s, paid by every app made)."""
    Draft202012Validator.check_schema(orjson.loads(text))


@dataclass(frozen=True, slots=True)
class ProductRules:
    """Validate product data and split it into tiers; the schemas are the one source of truth."""

    _by_category: Mapping[str, _Category]

    @classmethod
    def from_schemas(cls, schemas: Mapping[str, Mapping[str, Any]]) -> ProductRules:
        """Build the rules from `{category: JSON Schema}`, refusing a schema without tiers."""
        built: dict[str, _Category] = {}
        for category, schema in schemas.items():
            _check_schema(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
            tiers: dict[str, Tier] = {}
            for name, prop in schema.get("properties", {}).items():
                try:
                    tiers[name] = Tier(prop[TIER_KEY])
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"{category}.{name} lacks a valid {TIER_KEY}") from exc
            built[category] = _Category(
                fast=jsonschema_rs.Draft202012Validator(dict(schema), validate_formats=True),
                validator=_Validator(dict(schema), format_checker=_FORMATS),
                schema=schema,
                tiers=MappingProxyType(tiers),
                rules=_RULES.get(category, _COMMON_RULES),
            )
        return cls(MappingProxyType(built))

    @property
    def categories(self) -> tuple[str, ...]:
        """Return the category names, in the order the schemas were given."""
        return tuple(self._by_category)

    def _category(self, category: str) -> _Category:
        if category not in self._by_category:
            msg = f"must be one of: {', '.join(self._by_category)}"
            raise InvalidInput(f"unknown category {category!r}", errors={"category": [msg]})
        return self._by_category[category]

    def validate(self, category: str, data: object) -> dict[str, Any]:
        """Return `data` as a dict if it obeys the category's schema and rules; else raise.

        Every string is also held to the text rule of `core.product.text` (no control,
        bidirectional or zero-width characters; line breaks only in free text), so each way in
        (JSON body, CSV, `dpp import`) refuses what could display otherwise than it is signed.
        """
        rules = self._category(category)
        errors: Errors = {}
        text: Errors = {}
        # One walk finds the text problems and any float (the schema cannot tell 80.0 from 80).
        floats = isinstance(data, dict) and check_text(
            rules.schema, data, ROOT, lambda path, msg: _add(text, path, msg)
        )
        if floats or not rules.fast.is_valid(data):
            _schema_errors(rules.validator, data, errors)
            for error in rules.fast.iter_errors(data) if not errors else ():
                _add(errors, ".".join([ROOT, *map(str, error.instance_path)]), error.message)
        if isinstance(data, dict):
            for rule in rules.rules:
                rule(data, errors)
            for path, messages in text.items():
                for message in messages:
                    _add(errors, path, message)
        if errors or not isinstance(data, dict):
            raise InvalidInput(f"{category} product data is invalid", errors=errors)
        return dict(data)

    def tier_of(self, category: str, field: str) -> Tier:
        """Return the access tier of a top-level product field."""
        tiers = self._category(category).tiers
        if field not in tiers:
            raise InvalidInput(f"unknown field {field!r}", errors={f"{ROOT}.{field}": [UNKNOWN]})
        return tiers[field]

    def split_tiers(self, category: str, data: Mapping[str, Any]) -> dict[Tier, dict[str, Any]]:
        """Split top-level fields by tier; public is always present, other tiers only if used."""
        tiers = self._category(category).tiers
        split: dict[Tier, dict[str, Any]] = {tier: {} for tier in Tier}
        for field, value in data.items():
            tier = tiers.get(field) or self.tier_of(category, field)
            split[tier][field] = value
        return {tier: part for tier, part in split.items() if part or tier is Tier.PUBLIC}
