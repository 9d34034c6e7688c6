"""Product data rules: schemas, examples, code rules, access tiers."""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from passport.core.errors import InvalidInput
from passport.core.product.access import Tier
from passport.core.product.rules import ProductRules
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


def test_textile_csv_rows_validate() -> None:
    props = schema("textile")["properties"]
    with (SCHEMAS / "examples" / "textile.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for row in rows:
        assert row["category"] == "textile"
        data: dict[str, Any] = {}
        for name, text in row.items():
            if name in {"category", "granularity", "gtin", "lot", "serial"} or text == "":
                continue
            kind = props[name]["type"]
            data[name] = int(text) if kind == "integer" else text
            if kind in {"object", "array"}:
                data[name] = json.loads(text)
        rules().validate("textile", data)


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


def _heavy_lots(data: dict[str, Any]) -> None:
    data["recycled_content"][0]["lots"][0]["mass_g"] = data["mass_g"]


def _unbacked_share(data: dict[str, Any]) -> None:
    data["recycled_content"][0]["share_percent"] = 40


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
