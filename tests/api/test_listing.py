"""Finding passports: GET /api/v1/passports with filters and cursor pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient

from tests.api.test_events import ROLES, event, issue, record
from tests.helpers import bearer


@pytest.fixture
def orgs(make_org: Callable[..., str]) -> dict[str, str]:
    return {slug: make_org(slug, role) for slug, role in ROLES.items()}


def listed(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/passports?{query}")
    assert response.status_code == 200, response.get_json()
    return [p["id"] for p in response.get_json()["passports"]]


def test_filters_find_what_an_organisation_issued_or_handled(
    client: FlaskClient, orgs: dict[str, str], make_org: Callable[..., str]
) -> None:
    other = make_org("other", "manufacturer")
    textile = issue(client, orgs["maker"])
    mattress = issue(client, orgs["maker"], "mattress")
    foreign = issue(client, other)
    record(client, orgs["recycler"], mattress, event("end-of-life"))
    assert listed(client) == [textile, mattress, foreign]
    assert listed(client, "issuer=maker") == [textile, mattress]
    assert listed(client, "recorded_by=recycler") == [mattress]
    assert listed(client, "category=mattress") == [mattress]
    assert listed(client, "status=end-of-life") == [mattress]
    assert listed(client, "status=active&issuer=other") == [foreign]
    assert listed(client, "gtin=8712345678906") == [textile, foreign]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert listed(client, f"since={later.replace('+', '%2B')}") == []
    [item] = client.get("/api/v1/passports?status=end-of-life").get_json()["passports"]
    assert item["issuer"] == "maker"
    assert item["uri"] == f"https://dpp.example.nl/{mattress}"


def test_pages_follow_one_another_without_gaps(client: FlaskClient, orgs: dict[str, str]) -> None:
    issued = [issue(client, orgs["maker"]) for _ in range(5)]
    seen, cursor = [], ""
    while True:
        page = client.get(f"/api/v1/passports?limit=2{cursor}").get_json()
        seen += [p["id"] for p in page["passports"]]
        if page["next"] is None:
            break
        cursor = f"&cursor={page['next']}"
    assert seen == issued


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("limit=0", 422, "limit"),
        ("limit=501", 422, "limit"),
        ("status=gone", 422, "status"),
        ("category=shoes", 422, "category"),
        ("since=yesterday", 422, "since"),
        ("since=2026-01-01T00:00:00", 422, "since"),
        ("cursor=%%%", 422, "cursor"),
        ("issuer=nobody", 404, "issuer"),
        ("gtin=123", 422, "gtin"),
    ],
)
def test_bad_filters_are_problems_naming_the_field(
    client: FlaskClient, orgs: dict[str, str], query: str, status: int, field: str
) -> None:
    response = client.get(f"/api/v1/passports?{query}", headers=bearer(orgs["maker"]))
    assert response.status_code == status, response.get_json()
    assert field in str(response.get_json().get("errors")), response.get_json()


def test_since_compares_instants_whatever_the_offset(
    client: FlaskClient, orgs: dict[str, str]
) -> None:
    passport = issue(client, orgs["maker"])
    now = datetime.now(UTC)
    before = (now - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=5)))
    after = (now + timedelta(minutes=10)).astimezone(timezone(timedelta(hours=-7)))
    assert listed(client, f"since={before.isoformat().replace('+', '%2B')}") == [passport]
    assert listed(client, f"since={after.isoformat()}") == []


@pytest.mark.parametrize(
    "path",
    ["/orgs/maker/status/99999999999999999999", "/orgs/maker/status/70368744177664"],
)
def test_huge_status_list_numbers_are_404(
    client: FlaskClient, orgs: dict[str, str], path: str
) -> None:
    assert client.get(path).status_code == 404


def test_a_huge_cursor_is_a_422(client: FlaskClient, orgs: dict[str, str]) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(b"[99999999999999999999]").decode()
    response = client.get(f"/api/v1/passports?cursor={cursor}")
    assert response.status_code == 422
