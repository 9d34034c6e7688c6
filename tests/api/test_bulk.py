"""Bulk issuance: all or nothing, with a report naming every bad row."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, select

from passport.store import db
from passport.store.tables import HistoryEntryRow, PassportRow, RestrictedCredentialRow
from tests.helpers import EXAMPLES, bearer, example, trials

BULK = "/api/v1/passports:bulk"


def count_rows(app: Flask) -> tuple[int, int, int]:
    with app.app_context(), Session(db.engine()) as sess:
        return (
            sess.exec(select(func.count()).select_from(PassportRow)).one(),
            sess.exec(select(func.count()).select_from(HistoryEntryRow)).one(),
            sess.exec(select(func.count()).select_from(RestrictedCredentialRow)).one(),
        )


@pytest.mark.slow
def test_thousands_in_one_call(app: Flask, client: FlaskClient, maker: str) -> None:
    """With CI: the default limit, 10,000 rows in one call; without, 2,000."""
    size = trials(app.config["BULK_MAX_ROWS"], 2_000)
    rows = [example("textile") for _ in range(size)]
    response = client.post(BULK, json=rows, headers=bearer(maker))
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["count"] == size
    assert len({p["id"] for p in body["passports"]}) == size
    assert count_rows(app) == (size, size, 2 * size)
    one = client.get(f"/api/v1/passports/{body['passports'][1234]['id']}").get_json()
    assert one["credential"]["credentialSubject"]["id"] == body["passports"][1234]["uri"]


def test_more_than_the_limit_is_refused(app: Flask, client: FlaskClient, maker: str) -> None:
    services = app.extensions["passport.services"]
    app.extensions["passport.services"] = dataclasses.replace(services, bulk_max_rows=3)
    response = client.post(BULK, json=[example("textile")] * 4, headers=bearer(maker))
    assert response.status_code == 422
    assert "rows" in response.get_json()["errors"]
    assert count_rows(app) == (0, 0, 0)


def test_one_bad_row_stores_nothing_and_is_named(
    app: Flask, client: FlaskClient, maker: str
) -> None:
    rows = [example("textile") for _ in range(50)]
    rows[7]["product"]["fibre_composition"][0]["percent"] = 71
    rows[31]["gtin"] = "08712345678907"
    del rows[44]["category"]
    rows[45]["serial"] = rows[46]["serial"] = "TWIN0001"
    response = client.post(BULK, json=rows, headers=bearer(maker))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    report = {r["row"]: r["errors"] for r in response.get_json()["rows"]}
    assert set(report) == {8, 32, 45, 47}
    assert "product.fibre_composition" in report[8]
    assert "gtin" in report[32]
    assert "category" in report[45]
    assert "row 46" in report[47]["id"][0]
    assert count_rows(app) == (0, 0, 0)


def test_existing_id_in_bulk_is_named(app: Flask, client: FlaskClient, maker: str) -> None:
    first = example("textile")
    first["serial"] = "TAKEN0001"
    assert client.post("/api/v1/passports", json=first, headers=bearer(maker)).status_code == 201
    response = client.post(BULK, json=[example("textile"), first], headers=bearer(maker))
    assert response.status_code == 422
    assert [r["row"] for r in response.get_json()["rows"]] == [2]
    assert count_rows(app) == (1, 1, 2)


def test_csv_upload(app: Flask, client: FlaskClient, maker: str) -> None:
    text = (EXAMPLES / "textile.csv").read_text("utf-8")
    response = client.post(BULK, data=text.encode(), content_type="text/csv", headers=bearer(maker))
    assert response.status_code == 201, response.get_data(as_text=True)
    expected = len(list(csv.DictReader(io.StringIO(text))))
    assert response.get_json()["count"] == expected
    multipart = client.post(
        BULK,
        data={"file": (io.BytesIO(text.encode()), "textile.csv")},
        content_type="multipart/form-data",
        headers=bearer(maker),
    )
    assert multipart.status_code == 201, multipart.get_data(as_text=True)
    assert count_rows(app)[0] == 2 * expected


def test_csv_bad_cell_names_row_and_column(app: Flask, client: FlaskClient, maker: str) -> None:
    text = (EXAMPLES / "textile.csv").read_text("utf-8")
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    bad_mass = list(row)
    bad_mass[header.index("mass_g")] = "about a kilo"
    bad_fibre = list(row)
    bad_fibre[header.index("fibre_composition.2.percent")] = "31"
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([header, row, bad_mass, row, bad_fibre])
    response = client.post(
        BULK, data=buffer.getvalue().encode(), content_type="text/csv", headers=bearer(maker)
    )
    assert response.status_code == 422
    report = {r["row"]: r["errors"] for r in response.get_json()["rows"]}
    assert list(report) == [2, 4]
    assert list(report[2]) == ["product.mass_g"]
    assert "about a kilo" in report[2]["product.mass_g"][0]
    assert list(report[4]) == ["product.fibre_composition"]
    assert count_rows(app) == (0, 0, 0)


def test_bulk_body_must_be_an_array(client: FlaskClient, maker: str) -> None:
    response = client.post(BULK, json=example("textile"), headers=bearer(maker))
    assert response.status_code == 422
    assert json.loads(response.get_data())["errors"]["body"]


def test_empty_bulk_is_refused(client: FlaskClient, maker: str) -> None:
    response = client.post(BULK, json=[], headers=bearer(maker))
    assert response.status_code == 422
    assert "rows" in response.get_json()["errors"]
