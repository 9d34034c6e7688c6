"""Sorting lines: POST /api/v1/events:bulk and `dpp events import`, one outcome per item."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.api.test_events import ROLES, event, issue
from tests.helpers import bearer

Client = FlaskClient


@pytest.fixture
def orgs(make_org: Callable[..., str]) -> dict[str, str]:
    return {slug: make_org(slug, role) for slug, role in ROLES.items()}


def bulk(client: Client, token: str, body: Any, key: str | None = None, **kwargs: Any) -> Any:
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    if isinstance(body, str):
        return client.post("/api/v1/events:bulk", data=body, headers=headers,
                           content_type="text/csv")  # fmt: skip
    return client.post("/api/v1/events:bulk", json=body, headers=headers, **kwargs)


def test_each_item_gets_its_outcome_and_only_valid_ones_are_recorded(
    client: Client, orgs: dict[str, str]
) -> None:
    first, second = issue(client, orgs["maker"]), issue(client, orgs["maker"])
    items = [
        {"passport": first, **event("collect")},
        {"passport": first, **event("sort")},  # after the collect in the same file
        {"passport": "01/08712345678906/21/NOSUCH", **event("collect")},
        {"passport": second, **event("repair")},  # a collector may not repair
        {"passport": second, **event("collect") | {"mass_in_g": -3}},
        {"passport": f"https://dpp.example.nl/{second}", **event("end-of-life")},
        {"passport": second, **event("collect")},  # after its end of life
        {"passport": second, **event("recycle")},  # issues lots: one at a time
        "not an event",
    ]
    response = bulk(client, orgs["collector"], items)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    statuses = [item["status"] for item in body["items"]]
    assert statuses == [201, 201, 404, 403, 422, 201, 409, 422, 422]
    assert (body["recorded"], body["refused"]) == (3, 6)
    assert body["items"][4]["problem"]["errors"] == {"event.mass_in_g": [
        "-3 is less than the minimum of 0"]}  # fmt: skip
    assert "end-of-life" in body["items"][6]["problem"]["detail"]
    assert "one at a time" in body["items"][7]["problem"]["detail"]
    events = client.get(f"/api/v1/passports/{first}/events").get_json()["events"]
    assert [e["kind"] for e in events] == ["event:collect", "event:sort"]
    assert [e["sequence"] for e in events] == [2, 3]
    assert client.get(f"/api/v1/passports/{second}/events").get_json()["status"] == "end-of-life"


def test_the_same_file_with_the_same_key_records_nothing_twice(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    items = [{"passport": passport, **event("collect")}, {"passport": passport, "kind": "x"}]
    first = bulk(client, orgs["collector"], items, key="line-7-2026-11-21")
    assert first.status_code == 200, first.get_json()
    assert [i["status"] for i in first.get_json()["items"]] == [201, 422]
    again = bulk(client, orgs["collector"], items, key="line-7-2026-11-21")
    assert first.get_data() == again.get_data()
    assert len(client.get(f"/api/v1/passports/{passport}/events").get_json()["events"]) == 1


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = sorted({column for row in rows for column in row}, key=lambda c: (c != "passport", c))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_a_scanner_export_in_csv(client: Client, orgs: dict[str, str]) -> None:
    passports = [issue(client, orgs["maker"]) for _ in range(3)]
    rows = [
        {"passport": p, "kind": "sort", "occurred_at": "2026-11-21T10:10:00+01:00",
         "place.country": "NL", "place.municipality": "Tilburg", "outcome": "reuse-nl",
         "mass_in_g": "1180", "facility.name": "Sorteercentrum Tilburg"}
        for p in passports
    ]  # fmt: skip
    rows[2]["mass_in_g"] = "heavy"
    response = bulk(client, orgs["collector"], _csv(rows))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [item["status"] for item in body["items"]] == [201, 201, 422]
    assert "mass_in_g" in body["items"][2]["problem"]["errors"]
    [sorted_] = client.get(f"/api/v1/passports/{passports[0]}/events").get_json()["events"]
    stated = sorted_["credential"]["credentialSubject"]["event"]
    assert stated["mass_in_g"] == 1180
    assert stated["place"] == {"country": "NL", "municipality": "Tilburg"}


@pytest.mark.parametrize(
    ("body", "named"),
    [([], "items"), ({"passport": "x"}, "body"), ([{}] * 10_001, "items")],
)
def test_a_bulk_request_beyond_its_limits_is_a_422(
    client: Client, orgs: dict[str, str], body: Any, named: str
) -> None:
    response = bulk(client, orgs["collector"], body)
    assert response.status_code == 422, response.get_json()
    assert named in response.get_json()["errors"]


def test_dpp_events_import_records_a_file_with_a_progress_bar(
    client: Client, runner: FlaskCliRunner, orgs: dict[str, str], tmp_path: Path
) -> None:
    passports = [issue(client, orgs["maker"]) for _ in range(2)]
    path = tmp_path / "scans.csv"
    path.write_text(_csv([
        {"passport": p, "kind": "end-of-life", "occurred_at": "2026-11-20T08:45:00+01:00",
         "place.country": "NL", "outcome": "landfilled"} for p in passports
    ]), encoding="utf-8")  # fmt: skip
    result = runner.invoke(args=["events", "import", str(path), "--org", "collector"])
    assert result.exit_code == 0, result.output
    assert "2 recorded, 0 refused" in result.output
    for passport in passports:
        assert client.get(f"/api/v1/passports/{passport}/events").get_json()["events"]
    again = runner.invoke(args=["events", "import", str(path), "--org", "collector"])
    assert again.exit_code == 1, again.output
    assert "0 recorded, 2 refused" in again.output
    assert "is end-of-life" in again.output


def test_a_passport_of_another_host_and_a_numbered_top_column_are_named(
    client: Client, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    items = [{"passport": f"https://elsewhere.example/{passport}", **event("collect")}]
    body = bulk(client, orgs["collector"], items).get_json()
    assert body["items"][0]["status"] == 404
    text = (
        "passport,kind,occurred_at,place.country,1\n"
        + f"{passport},collect,2026-11-20T08:45:00Z,NL,x\n"
    )
    response = bulk(client, orgs["collector"], text)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"][0]["status"] == 422
