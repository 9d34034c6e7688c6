"""CSV a spreadsheet can produce: flat columns, templates, and text signed as sent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from passport.api.bulk import load_envelope
from passport.services.passports.bulk import csv_rows
from tests.helpers import EXAMPLES, bearer, example

BULK = "/api/v1/passports:bulk"
CATEGORIES = ("textile", "mattress")


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """The spreadsheet cells of a JSON value: dotted names, arrays numbered from 1."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value, start=1)]
    elif isinstance(value, bool):
        return {prefix: "true" if value else "false"}
    else:
        return {prefix: str(value)}
    cells: dict[str, str] = {}
    for key, item in items:
        cells.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return cells


def without_empty(value: Any) -> Any:
    """`value` without empty arrays and objects: an empty cell means absent."""
    if isinstance(value, dict):
        kept = {k: without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ([], {})}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


def to_csv(*records: dict[str, str]) -> bytes:
    columns = list(dict.fromkeys(c for r in records for c in r))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode()


def record(category: str, **changes: str) -> dict[str, str]:
    row = example(category)
    cells = {k: v for k, v in row.items() if k != "product"}
    cells.update(flatten(row["product"]))
    cells.update(changes)
    return cells


def post_csv(client: FlaskClient, token: str, body: bytes) -> Any:
    return client.post(BULK, data=body, content_type="text/csv", headers=bearer(token))


def report(response: Any) -> dict[int, dict[str, list[str]]]:
    assert response.status_code == 422, response.get_data(as_text=True)
    return {r["row"]: r["errors"] for r in response.get_json()["rows"]}


def public_product(client: FlaskClient, passport: dict[str, Any]) -> dict[str, Any]:
    body = client.get(f"/api/v1/passports/{passport['id']}").get_json()
    product: dict[str, Any] = body["credential"]["credentialSubject"]["product"]
    return product


# The grammar: the rows build exactly the JSON the JSON endpoint takes.


@pytest.mark.parametrize("category", CATEGORIES)
def test_flat_columns_build_the_json_request(app: Flask, category: str) -> None:
    text = to_csv(record(category)).decode()
    rows = csv_rows(text, app.extensions["passport.services"], load_envelope)
    assert rows.errors == {}
    expected, _ = load_envelope(example(category))
    assert expected is not None
    expected["product"] = without_empty(expected["product"])
    assert rows.rows == [expected]


def test_text_in_a_quoted_cell_is_signed_byte_for_byte(client: FlaskClient, maker: str) -> None:
    text = "Wool cycle 30 °C.\r\nDry flat.\nAiring is often enough."
    body = to_csv(record("textile", **{"care_instructions.text.en": text}))
    response = post_csv(client, maker, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    product = public_product(client, response.get_json()["passports"][0])
    assert product["care_instructions"]["text"]["en"] == text


@pytest.mark.parametrize("char", ["\u2028", "\x85", "\u2029", "\x0c"], ids=repr)
def test_a_separator_in_a_cell_is_refused_not_a_new_record(
    client: FlaskClient, maker: str, char: str
) -> None:
    body = to_csv(record("textile", name=f"Deken{char}Boekelo"), record("textile"))
    rows = report(post_csv(client, maker, body))
    assert list(rows) == [1]
    assert list(rows[1]) == ["product.name"]
    assert f"U+{ord(char):04X}" in rows[1]["product.name"][0]


@pytest.mark.parametrize("char", ["\x00", "\u202e", "\u200b", "\u2066", "\ufeff"], ids=repr)
def test_hidden_characters_are_refused_in_json_bodies(
    client: FlaskClient, maker: str, char: str
) -> None:
    request = example("textile")
    request["product"]["name"] = f"Deken {char}Boekelo"
    request["product"]["trims"][0]["material"] = f"polyester{char}"
    response = client.post("/api/v1/passports", json=request, headers=bearer(maker))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"product.name", "product.trims.0.material"}
    bulk = client.post(BULK, json=[example("textile"), request], headers=bearer(maker))
    assert set(report(bulk)[2]) == {"product.name", "product.trims.0.material"}


@pytest.mark.parametrize("field", ["lot", "serial", "variant"])
def test_hidden_characters_are_refused_in_the_envelope(
    client: FlaskClient, maker: str, field: str
) -> None:
    request = example("textile")
    request[field] = "AB\u202e12"
    response = client.post("/api/v1/passports", json=request, headers=bearer(maker))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


def test_hidden_characters_are_refused_in_csv_with_their_column(
    client: FlaskClient, maker: str
) -> None:
    body = to_csv(
        record("textile"),
        record("textile", **{"fibre_composition.2.fibre": "polyester\u200b"}),
        record("textile", **{"manufacturer.name": "Enschedese\x00 Dekenweverij"}),
    )
    rows = report(post_csv(client, maker, body))
    assert rows == {
        2: {"product.fibre_composition.2.fibre": rows[2]["product.fibre_composition.2.fibre"]},
        3: {"product.manufacturer.name": rows[3]["product.manufacturer.name"]},
    }


def test_import_refuses_hidden_characters(
    runner: FlaskCliRunner, maker: str, tmp_path: Path
) -> None:
    rows = [example("textile"), example("textile")]
    rows[1]["product"]["brand"] = "Boekelo\u202eWeefwerk"
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    result = runner.invoke(args=["import", str(path), "--org", "maker"])
    assert result.exit_code == 1
    assert "row 2: product.brand" in result.output
    path = tmp_path / "rows.csv"
    path.write_bytes(to_csv(record("textile"), record("textile", brand="Boekelo\u200dWeefwerk")))
    result = runner.invoke(args=["import", str(path), "--org", "maker"])
    assert result.exit_code == 1
    assert "row 2: product.brand" in result.output


# Row and header errors name the row and the column.


def test_cell_errors_name_row_and_column(client: FlaskClient, maker: str) -> None:
    body = to_csv(
        record("textile", **{"fibre_composition.2.percent": "thirty"}),
        record("textile", **{"trims.1.detachable": "maybe"}),
        record("textile", **{"fibre_composition.2.percent": "31"}),
        record("textile", **{"trims.2.mass_g": "-1"}),
        record("textile"),
    )
    rows = report(post_csv(client, maker, body))
    assert set(rows) == {1, 2, 3, 4}
    assert list(rows[1]) == ["product.fibre_composition.2.percent"]
    assert list(rows[2]) == ["product.trims.1.detachable"]
    assert "product.fibre_composition" in rows[3]
    assert list(rows[4]) == ["product.trims.2.mass_g"]


def test_numbered_groups_have_no_gaps(client: FlaskClient, maker: str) -> None:
    cells = record("textile")
    cells["fibre_composition.4.fibre"] = "elastane"
    cells["fibre_composition.4.percent"] = "1"
    rows = report(post_csv(client, maker, to_csv(cells)))
    assert "product.fibre_composition.3" in rows[1]


def test_unknown_columns_are_named(client: FlaskClient, maker: str) -> None:
    for column in ["colour", "fibre_composition.0.fibre", "manufacturer", "mass_g.1", "trims.x"]:
        response = post_csv(client, maker, to_csv(record("textile", **{column: "1"})))
        assert response.status_code == 422, column
        errors = response.get_json()["errors"]
        assert any(column in m for m in errors["header"]), (column, errors)
    # A mattress column is known, but not for a textile row.
    body = to_csv(record("textile", **{"dimensions.width_mm": "900"}), record("mattress"))
    rows = report(post_csv(client, maker, body))
    assert list(rows) == [1]
    assert list(rows[1]) == ["product.dimensions.width_mm"]


def test_json_inside_a_cell_is_not_read(client: FlaskClient, maker: str) -> None:
    cells = {k: v for k, v in record("textile").items() if not k.startswith("fibre_")}
    cells["fibre_composition"] = '[{"fibre": "wool", "percent": 70}]'
    response = post_csv(client, maker, to_csv(cells))
    assert response.status_code == 422
    assert any("fibre_composition" in m for m in response.get_json()["errors"]["header"])


# Templates.


@pytest.mark.parametrize("category", CATEGORIES)
def test_template_is_the_committed_example(client: FlaskClient, category: str) -> None:
    response = client.get(f"/api/v1/templates/{category}.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename={category}-template.csv"
    assert response.data == (EXAMPLES / f"{category}.csv").read_bytes()
    header, row, *rest = csv.reader(io.StringIO(response.data.decode(), newline=""))
    assert rest == []
    assert len(header) == len(set(header)) == len(row)
    assert set(flatten(example(category)["product"])) < set(header)
    assert "fibre_composition.5.percent" in header or category != "textile"
    assert "dimensions.width_mm" in header or category != "mattress"


@pytest.mark.parametrize("category", CATEGORIES)
def test_committed_example_csv_issues(client: FlaskClient, maker: str, category: str) -> None:
    body = (EXAMPLES / f"{category}.csv").read_bytes()
    response = post_csv(client, maker, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    (passport,) = response.get_json()["passports"]
    expected = example(category)
    assert f"/01/{expected['gtin']}/" in passport["uri"]
    product = public_product(client, passport)
    assert product == {k: v for k, v in without_empty(expected["product"]).items() if k in product}
    assert product["name"] == expected["product"]["name"]


def test_unknown_template_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/templates/sofa.csv")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
