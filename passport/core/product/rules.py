"""Product data rules: JSON Schema per category, the rules it cannot say, and access tiers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from passport.core.errors import InvalidInput
from passport.core.product.access import Tier
from passport.core.product.gs1 import gtin_check_digit
from passport.core.product.text import check_text
from passport.core.product.validation import (
    UNKNOWN,
    CodeRule,
    Errors,
    Validators,
    schema_errors,
    validators_for,
)
from passport.core.product.validation import (
    add_error as _add,
)

CATEGORIES = ("textile", "mattress")  # the product categories a passport may have

ROOT = "product"
TIER_KEY = "x-access-tier"


def _ints(items: object, key: str) -> Iterator[tuple[int, dict[str, Any], int]]:
    """Yield (index, item, item[key]) for the well-typed items of a list (schema errors aside)."""
    if isinstance(items, list):
        for idx, item in enumerate(items):
            if isinstance(item, dict) and type(item.get(key)) is int:
                yield idx, item, item[key]


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
    """Check each recycled share is what its lots give and the lots fit in the product."""
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
        # The share is what the lots give, as a percent of the product's mass rounded half up.
        expected = (200 * drawn + mass) // (2 * mass)
        if type(share) is int and drawn and share != expected:
            msg = f"is {share}%, but {drawn} g from its lots is {expected}% of {mass} g"
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
    # JSON Schema counts 80.0 as an integer, so floats are refused separately (`check_text`).
    validators: Validators
    schema: Mapping[str, Any]
    tiers: Mapping[str, Tier]
    rules: tuple[CodeRule, ...]


@dataclass(frozen=True, slots=True)
class ProductRules:
    """Validate product data and split it into tiers; the schemas are the one source of truth.

    The same rules serve lifecycle events, keyed by event kind instead of category, with `root`
    `event` naming the fields in errors (`passport.core.lifecycle.rules`).
    """

    _by_category: Mapping[str, _Category]
    root: str = ROOT

    @classmethod
    def from_schemas(
        cls,
        schemas: Mapping[str, Mapping[str, Any]],
        *,
        root: str = ROOT,
        code_rules: Mapping[str, tuple[CodeRule, ...]] | None = None,
        shared: Mapping[str, Any] | None = None,
    ) -> ProductRules:
        """Build the rules from `{category: JSON Schema}`, refusing a schema without tiers.

        `shared` is a schema the others refer to by its `$id` (the events' common fields);
        `code_rules` replace the product rules the schemas cannot say.
        """
        built: dict[str, _Category] = {}
        for category, schema in schemas.items():
            tiers: dict[str, Tier] = {}
            for name, prop in schema.get("properties", {}).items():
                try:
                    tiers[name] = Tier(prop[TIER_KEY])
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"{category}.{name} lacks a valid {TIER_KEY}") from exc
            built[category] = _Category(
                validators=validators_for(schema, shared),
                schema=schema,
                tiers=MappingProxyType(tiers),
                rules=(code_rules or _RULES).get(category, _COMMON_RULES if root == ROOT else ()),
            )
        return cls(MappingProxyType(built), root)

    @property
    def categories(self) -> tuple[str, ...]:
        """Return the category names, in the order the schemas were given."""
        return tuple(self._by_category)

    def _category(self, category: str) -> _Category:
        if category not in self._by_category:
            msg = f"must be one of: {', '.join(self._by_category)}"
            what = "category" if self.root == ROOT else "kind"
            raise InvalidInput(f"unknown {what} {category!r}", errors={what: [msg]})
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
            rules.schema, data, self.root, lambda path, msg: _add(text, path, msg)
        )
        if floats or not rules.validators.fast.is_valid(data):
            schema_errors(rules.validators.python, data, errors, self.root)
            for error in rules.validators.fast.iter_errors(data) if not errors else ():
                _add(errors, ".".join([self.root, *map(str, error.instance_path)]), error.message)
        if isinstance(data, dict):
            for rule in rules.rules:
                rule(data, errors)
            for path, messages in text.items():
                for message in messages:
                    _add(errors, path, message)
        if errors or not isinstance(data, dict):
            what = "product data" if self.root == ROOT else "event"
            raise InvalidInput(f"{category} {what} is invalid", errors=errors)
        return dict(data)

    def tier_of(self, category: str, field: str) -> Tier:
        """Return the access tier of a top-level product field."""
        tiers = self._category(category).tiers
        if field not in tiers:
            raise InvalidInput(
                f"unknown field {field!r}", errors={f"{self.root}.{field}": [UNKNOWN]}
            )
        return tiers[field]

    def split_tiers(self, category: str, data: Mapping[str, Any]) -> dict[Tier, dict[str, Any]]:
        """Split top-level fields by tier; public is always present, other tiers only if used."""
        tiers = self._category(category).tiers
        split: dict[Tier, dict[str, Any]] = {tier: {} for tier in Tier}
        for field, value in data.items():
            tier = tiers.get(field) or self.tier_of(category, field)
            split[tier][field] = value
        return {tier: part for tier, part in split.items() if part or tier is Tier.PUBLIC}
