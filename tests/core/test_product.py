"""Product data rules: schemas, examples, code rules, access tiers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from passport.api.bulk import load_envelope
from passport.core.errors import InvalidInput
from passport.core.product.access import Tier
from passport.core.product.rules import ProductRules
from passport.core.product.text import text_problem
from passport.services.passports.bulk import csv_rows
from tests.helpers import SCHEMAS, example

CATEGORIES = ("textile", "mattress")


@cache
def schema(category: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{category}.schema.json").read_text(encoding="utf-8"))


@cache
def rules() -> ProductRules:
    return ProductRules.from_schemas({c: schema(c) for c in CATEGORIES})


def product(category: str) -> dict[str, Any]:
    return copy.deepcopy(example(category)["product"])


def errors_of(category: str, data: object) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as info:
        rules().validate(category, data)
    return info.value.errors


@pytest.mark.parametrize("category", CATEGORIES)
def test_schema_is_valid_2020_12(category: str) -> None:
    Draft202012Validator.check_schema(schema(category))
    assert schema(category)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_top_level_property_has_a_valid_tier(category: str) -> None:
    props = schema(category)["properties"]
    assert props
    for name, prop in props.items():
        assert Tier(prop["x-access-tier"]) is rules().tier_of(category, name)
        assert prop["description"]


@pytest.mark.parametrize("category", CATEGORIES)
def test_example_validates(category: str) -> None:
    body = example(category)
    assert body["category"] == category
    assert "serial" not in body
    assert rules().validate(category, body["product"]) == body["product"]


def test_categories_and_fixed_tiers() -> None:
    assert rules().categories == CATEGORIES
    assert rules().tier_of("textile", "fibre_composition") is Tier.PUBLIC
    assert rules().tier_of("textile", "care_instructions") is Tier.PUBLIC
    assert rules().tier_of("textile", "trims") is Tier.LEGITIMATE_INTEREST
    assert rules().tier_of("mattress", "layers") is Tier.LEGITIMATE_INTEREST
    for category in CATEGORIES:
        assert rules().tier_of(category, "facility_of_manufacture") is Tier.AUTHORITY
        assert rules().tier_of(category, "compliance_documents") is Tier.AUTHORITY
        assert rules().tier_of(category, "disassembly_instructions") is Tier.LEGITIMATE_INTEREST


@pytest.mark.parametrize("category", CATEGORIES)
def test_example_csv_builds_the_example(category: str) -> None:
    ctx = SimpleNamespace(schemas={c: schema(c) for c in CATEGORIES}, rules=rules())
    text = (SCHEMAS / "examples" / f"{category}.csv").read_text(encoding="utf-8")
    rows = csv_rows(text, ctx, load_envelope)  # type: ignore[arg-type]
    assert rows.errors == {}
    (row,) = rows.rows
    assert row is not None
    expected = example(category)
    assert row["gtin"] == expected["gtin"]
    empty: list[Any] = []
    assert row["product"] == {k: v for k, v in expected["product"].items() if v != empty}


Mutation = Callable[[dict[str, Any]], None]


def _set(field: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[field] = value

    return mutate


def _fibres(*pairs: tuple[str, object]) -> Mutation:
    return _set("fibre_composition", [{"fibre": f, "percent": p} for f, p in pairs])


def _drop(field: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data[field]

    return mutate


def _nested(field: str, key: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[field][key] = value

    return mutate


def _heavy_layers(data: dict[str, Any]) -> None:
    data["layers"][0]["mass_g"] = data["mass_g"]


# Recycled content of the textile example (its lots exist only on a ledger that recorded them,
# so the examples carry none; the product rules do not look the lots up).
RECYCLED = {
    "material": "polyester",
    "share_percent": 30,
    "origin": "post_consumer",
    "lots": [
        {"lot_id": "https://dpp.example.nl/01/08712348000018/10/RPET-2025-041", "mass_g": 200},
        {"lot_id": "https://dpp.example.nl/01/08712348000018/10/RPET-2025-044", "mass_g": 160},
    ],
}


def _recycled(data: dict[str, Any]) -> dict[str, Any]:
    data["recycled_content"] = [copy.deepcopy(RECYCLED)]
    entry: dict[str, Any] = data["recycled_content"][0]
    return entry


def _heavy_lots(data: dict[str, Any]) -> None:
    _recycled(data)["lots"][0]["mass_g"] = data["mass_g"]


def _unbacked_share(data: dict[str, Any]) -> None:
    _recycled(data)["share_percent"] = 40


def _understated_share(data: dict[str, Any]) -> None:
    _recycled(data)["share_percent"] = 20


BAD = [
    ("textile", _fibres(("wool", 70), ("polyester", 29)), "product.fibre_composition"),
    ("textile", _fibres(("wool", 70), ("polyester", 31)), "product.fibre_composition"),
    ("textile", _fibres(("wool", 80.0), ("polyester", 20)), "product.fibre_composition.0.percent"),
    ("textile", _fibres(("wool", 70), ("wool", 30)), "product.fibre_composition.1.fibre"),
    (
        "textile",
        _fibres(("wool", 70), ("polyester", 30), ("elastane", 0)),
        "product.fibre_composition.2.percent",
    ),
    ("textile", _set("mass_g", True), "product.mass_g"),
    ("textile", _set("durability_score", False), "product.durability_score"),
    ("textile", _set("durability_score", 11), "product.durability_score"),
    ("textile", _set("mass_g", -5), "product.mass_g"),
    ("textile", _set("mass_g", 1200.0), "product.mass_g"),
    ("textile", _set("colour", "red"), "product.colour"),
    ("textile", _nested("manufacturer", "vat_number", "NL1"), "product.manufacturer.vat_number"),
    ("textile", _drop("brand"), "product.brand"),
    ("textile", _drop("fibre_composition"), "product.fibre_composition"),
    ("textile", _set("placed_on_market_date", "2025-02-30"), "product.placed_on_market_date"),
    ("textile", _set("placed_on_market_date", "20250901"), "product.placed_on_market_date"),
    ("textile", _set("placed_on_market_date", "2025-09-01\n"), "product.placed_on_market_date"),
    ("textile", _set("country_of_origin", "nl"), "product.country_of_origin"),
    ("textile", _set("country_of_origin", "NL\n"), "product.country_of_origin"),
    ("textile", _nested("manufacturer", "gln", "8712345000004\n"), "product.manufacturer.gln"),
    ("textile", _set("commodity_code", "6301209"), "product.commodity_code"),
    ("textile", _set("elastane_share_percent", 5), "product.elastane_share_percent"),
    ("textile", _nested("manufacturer", "gln", "8712345000005"), "product.manufacturer.gln"),
    ("textile", _heavy_lots, "product.recycled_content"),
    ("textile", _unbacked_share, "product.recycled_content.0.share_percent"),
    ("textile", _understated_share, "product.recycled_content.0.share_percent"),
    ("mattress", _heavy_layers, "product.layers"),
    ("mattress", _set("layers", []), "product.layers"),
    ("mattress", _drop("dimensions"), "product.dimensions"),
    ("mattress", _nested("dimensions", "height_mm", 22.5), "product.dimensions.height_mm"),
    ("mattress", _set("mattress_type", "waterbed"), "product.mattress_type"),
]


@pytest.mark.parametrize(("category", "mutate", "path"), BAD)
def test_bad_product_names_the_field(category: str, mutate: Mutation, path: str) -> None:
    data = product(category)
    mutate(data)
    errors = errors_of(category, data)
    assert path in errors, errors
    assert all(errors[path])


def test_unknown_field_message_is_clear() -> None:
    data = product("textile")
    data["colour"] = "red"
    assert errors_of("textile", data) == {"product.colour": ["unknown field: not in the schema"]}


def test_all_errors_are_collected() -> None:
    data = product("textile")
    data["mass_g"] = -1
    data["colour"] = "red"
    del data["brand"]
    data["fibre_composition"] = [{"fibre": "wool", "percent": 50}, {"fibre": "wool", "percent": 20}]
    assert set(errors_of("textile", data)) >= {
        "product.mass_g",
        "product.colour",
        "product.brand",
        "product.fibre_composition",
        "product.fibre_composition.1.fibre",
    }


@pytest.mark.parametrize("data", [None, [], "blanket", 3])
def test_non_object_is_refused_at_product(data: object) -> None:
    assert list(errors_of("textile", data)) == ["product"]


def test_unknown_category_is_refused_at_category() -> None:
    with pytest.raises(InvalidInput) as info:
        rules().validate("sofa", product("textile"))
    assert list(info.value.errors) == ["category"]
    with pytest.raises(InvalidInput):
        rules().split_tiers("sofa", {})


def test_schema_without_tier_is_refused() -> None:
    broken = copy.deepcopy(schema("textile"))
    del broken["properties"]["name"]["x-access-tier"]
    with pytest.raises(ValueError, match="x-access-tier"):
        ProductRules.from_schemas({"textile": broken})


@pytest.mark.parametrize("category", CATEGORIES)
def test_split_tiers_follows_annotations(category: str) -> None:
    data = product(category)
    split = rules().split_tiers(category, data)
    assert set(split) == set(Tier)
    merged: dict[str, Any] = {}
    for tier, part in split.items():
        for field, value in part.items():
            assert schema(category)["properties"][field]["x-access-tier"] == tier.value
            assert field not in merged
            merged[field] = value
    assert merged == data


def test_split_tiers_keeps_public_and_omits_empty_tiers() -> None:
    data = {"name": "Deken", "fibre_composition": [{"fibre": "wool", "percent": 100}]}
    assert rules().split_tiers("textile", data) == {Tier.PUBLIC: data}
    assert rules().split_tiers("textile", {}) == {Tier.PUBLIC: {}}
    split = rules().split_tiers("textile", {"trims": []})
    assert split == {Tier.PUBLIC: {}, Tier.LEGITIMATE_INTEREST: {"trims": []}}


def test_split_tiers_refuses_unknown_field() -> None:
    with pytest.raises(InvalidInput) as info:
        rules().split_tiers("textile", {"colour": "red"})
    assert list(info.value.errors) == ["product.colour"]


FIBRES = ("wool", "polyester", "cotton", "polyamide", "viscose", "acrylic", "silk", "linen")


@given(st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=len(FIBRES)))
def test_fibre_sum_other_than_100_is_refused(percents: list[int]) -> None:
    data = product("textile")
    data["fibre_composition"] = [
        {"fibre": f, "percent": p} for f, p in zip(FIBRES, percents, strict=False)
    ]
    if sum(percents) == 100:
        rules().validate("textile", data)
    else:
        assert set(errors_of("textile", data)) == {"product.fibre_composition"}


def _objects(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("type") == "object" else []
    children = [*node.get("properties", {}).values(), *node.get("patternProperties", {}).values()]
    if isinstance(node.get("items"), dict):
        children.append(node["items"])
    for child in children:
        found.extend(_objects(child))
    return found


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_object_is_closed_and_every_property_described(category: str) -> None:
    objects = _objects(schema(category))
    assert len(objects) > 10
    for node in objects:
        assert node["additionalProperties"] is False
        for prop in [
            *node.get("properties", {}).values(),
            *node.get("patternProperties", {}).values(),
        ]:
            assert prop["description"]
            assert prop.get("type") != "number"


# Text that is signed as sent: no control, bidirectional or zero-width characters.
HIDDEN = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\ud800",
]


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("category", CATEGORIES)
def test_hidden_characters_are_refused_in_names(category: str, char: str) -> None:
    data = product(category)
    data["name"] = f"Deken{char}Boekelo"
    errors = errors_of(category, data)
    assert list(errors) == ["product.name"]
    assert f"U+{ord(char):04X}" in errors["product.name"][0]


@pytest.mark.parametrize("char", ["\u202e", "\x00", "\u200b"], ids=lambda c: f"U+{ord(c):04X}")
def test_hidden_characters_are_refused_at_any_depth(char: str) -> None:
    data = product("textile")
    data["manufacturer"]["name"] += char
    data["trims"][1]["material"] += char
    data["care_instructions"]["text"]["en"] += char
    data["disassembly_instructions"]["tools"][0] += char
    data["disassembly_instructions"]["steps"][1]["nl"] += char
    errors = errors_of("textile", data)
    assert set(errors) == {
        "product.manufacturer.name",
        "product.trims.1.material",
        "product.care_instructions.text.en",
        "product.disassembly_instructions.tools.0",
        "product.disassembly_instructions.steps.1.nl",
    }


@pytest.mark.parametrize("brk", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_line_breaks_are_kept_in_free_text(brk: str) -> None:
    data = product("mattress")
    data["care_instructions"]["text"]["en"] = f"Turn it.{brk}Wash the cover.{brk}"
    data["repair_information"]["instructions"]["nl"] = f"Bel ons.{brk}{brk}Of mail."
    data["disassembly_instructions"]["steps"][0]["en"] = f"Unzip{brk}the cover."
    data["layers"][2]["description"] = f"30 mm{brk}pincore"
    data["name"] += "\tTab"
    assert rules().validate("mattress", data) == data


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_breaks_are_refused_in_one_line_fields(brk: str) -> None:
    data = product("textile")
    data["name"] = f"Deken{brk}Boekelo"
    data["brand"] = f"Boekelo{brk}"
    data["facility_of_manufacture"]["name"] += brk
    errors = errors_of("textile", data)
    assert set(errors) == {
        "product.name",
        "product.brand",
        "product.facility_of_manufacture.name",
    }
    assert "line break" in errors["product.name"][0]


def test_a_lone_carriage_return_is_refused_in_free_text() -> None:
    data = product("textile")
    data["care_instructions"]["text"]["en"] = "Wash.\rDry."
    assert list(errors_of("textile", data)) == ["product.care_instructions.text.en"]


@given(st.text())
def test_printable_text_needs_no_closer_look(value: str) -> None:
    """The walk skips the character rule for text Python calls printable: sound only if no
    printable text breaks the rule, in one-line or in free-text fields."""
    if value.isprintable():
        assert text_problem(value, multiline=False) is None
        assert text_problem(value, multiline=True) is None


@pytest.mark.parametrize("where", ["top", "nested", "in a list"])
def test_a_float_anywhere_is_refused(where: str) -> None:
    data = product("textile")
    if where == "top":
        data["mass_g"] = 1200.0
        path = "product.mass_g"
    elif where == "nested":
        _recycled(data)["lots"][1]["mass_g"] = 160.0
        path = "product.recycled_content.0.lots.1.mass_g"
    else:
        data["trims"][1]["mass_g"] = 4.0
        path = "product.trims.1.mass_g"
    assert path in errors_of("textile", data)
