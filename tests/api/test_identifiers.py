"""Identifiers round-trip: every id the API returns, used as a path, names that passport only.

The path after /api/v1/passports/ is application-identifier/value pairs, each segment
percent-decoded exactly once; a trailing odd segment names the sub-resource.
"""

from __future__ import annotations

import itertools
import string
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from passport.core.product.gs1 import gtin_check_digit
from passport.services.ledger import checkpoints
from tests.api.test_protocol import manufacturer
from tests.helpers import BASE_URL, bearer
from tests.helpers import example as example_body


@pytest.fixture(autouse=True)
def _checkpoints_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundles wait for a checkpoint covering the passport, signed at most once a second; the
    many bundles read here would spend minutes waiting for that rate limit."""
    monkeypatch.setattr(checkpoints, "MIN_INTERVAL", timedelta(0))


@pytest.fixture
def maker(runner: FlaskCliRunner) -> str:
    """The token of a manufacturer issuing under the examples' company prefix."""
    return manufacturer(runner, "maker")


# GS1 AI encodable character set 82: the alphabet of lots and serials.
SET82 = "!\"%&'()*+,-./:;<=>?_" + string.digits + string.ascii_letters
CONFUSING = "%25AF/?.'!2"  # percent signs and hex digits, slashes, dots: the risky ones
QUALIFIER = st.one_of(
    st.text(alphabet=SET82, min_size=1, max_size=20),
    st.text(alphabet=CONFUSING, min_size=1, max_size=20),
)
_GTINS = itertools.count(1)


def fresh_gtin() -> str:
    """A GTIN-13 under the example's company prefix not used before in this session."""
    body = f"871234560{next(_GTINS):03d}"
    return body + str(gtin_check_digit(body))


def issue(client: FlaskClient, token: str, **fields: Any) -> dict[str, Any]:
    body = example_body("textile")
    body.pop("lot", None)
    body.update(fields)
    answer = client.post("/api/v1/passports", json=body, headers=bearer(token))
    assert answer.status_code == 201, (fields, answer.get_json())
    issued: dict[str, Any] = answer.get_json()
    return issued


def read(client: FlaskClient, passport_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/passports/{passport_id}")
    assert answer.status_code == 200, (passport_id, answer.get_json())
    found: dict[str, Any] = answer.get_json()
    return found


def confusables(value: str) -> set[str]:
    """Values a wrong number of decodings or encodings would mistake for `value`."""
    near = {unquote(value), quote(value, safe=""), value.replace("/", "%2F")}
    return {v for v in near if v != value and 0 < len(v) <= 20 and set(v) <= set(SET82)}


def assert_reaches(client: FlaskClient, token: str, issued: dict[str, Any]) -> None:
    """GET, GET …/bundle and POST …/versions on the returned id reach that passport."""
    passport_id = issued["id"]
    assert read(client, passport_id)["id"] == passport_id
    bundle = client.get(f"/api/v1/passports/{passport_id}/bundle")
    assert bundle.status_code == 200, bundle.get_json()
    assert bundle.get_json()["passport"] == f"{BASE_URL}/{passport_id}" == issued["uri"]
    product = example_body("textile")["product"]
    corrected = client.post(
        f"/api/v1/passports/{passport_id}/versions",
        json={"product": product},
        headers=bearer(token),
    )
    assert corrected.status_code == 201, corrected.get_json()
    assert corrected.get_json()["id"] == passport_id
    assert corrected.get_json()["version"] == read(client, passport_id)["version"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lot=QUALIFIER, serial=QUALIFIER)
@example(lot="PC-%41", serial="bundle")
@example(lot="A/B", serial="versions")
@example(lot="%2F", serial="%25")
@example(lot="..", serial=".")
def test_every_returned_id_reaches_its_passport_and_no_other(
    client: FlaskClient, maker: str, lot: str, serial: str
) -> None:
    gtin = fresh_gtin()
    issued = issue(client, maker, gtin=gtin, granularity="item", lot=lot, serial=serial)
    others = [
        issue(client, maker, gtin=gtin, granularity="item", lot=lot, serial=near)
        for near in sorted(confusables(serial))
    ]
    others += [
        issue(client, maker, gtin=gtin, granularity="batch", lot=near)
        for near in sorted(confusables(lot))
    ]
    for passport in [issued, *others]:
        assert_reaches(client, maker, passport)


def test_a_double_decoded_lot_is_another_passport(client: FlaskClient, maker: str) -> None:
    gtin = fresh_gtin()
    plain = issue(client, maker, gtin=gtin, granularity="batch", lot="PC-A")
    percent = issue(client, maker, gtin=gtin, granularity="batch", lot="PC-%41")
    assert percent["id"].endswith("/10/PC-%2541")
    assert read(client, percent["id"])["id"] == percent["id"]
    assert read(client, plain["id"])["id"] == plain["id"]
    # each segment is decoded once: PC-%41 in a path is the lot PC-A
    assert read(client, percent["id"].replace("%2541", "%41"))["id"] == plain["id"]


def test_a_lot_with_a_slash_is_read_by_its_id(client: FlaskClient, maker: str) -> None:
    issued = issue(client, maker, gtin=fresh_gtin(), granularity="batch", lot="A/B")
    assert issued["id"].endswith("/10/A%2FB")
    assert_reaches(client, maker, issued)


def test_sub_resource_names_as_values_are_passports(client: FlaskClient, maker: str) -> None:
    gtin = fresh_gtin()
    model = issue(client, maker, gtin=gtin, granularity="model")
    lots = {
        name: issue(client, maker, gtin=gtin, granularity="batch", lot=name)
        for name in ("bundle", "versions")
    }
    assert read(client, lots["bundle"]["id"])["id"] == lots["bundle"]["id"]
    product = example_body("textile")["product"]
    wrong = client.post(
        f"/api/v1/passports/{lots['versions']['id']}",
        json={"product": product},
        headers=bearer(maker),
    )
    assert wrong.status_code == 405  # a passport is not corrected by POSTing to it
    assert read(client, model["id"])["version"] == 1  # and the model passport is untouched
    for issued in [model, *lots.values()]:
        assert_reaches(client, maker, issued)


def test_decoded_once_without_a_raw_uri(client: FlaskClient, maker: str) -> None:
    """A server that passes no raw URI: the decoded path is taken as it is, never re-decoded."""
    gtin = fresh_gtin()
    plain = issue(client, maker, gtin=gtin, granularity="batch", lot="PC-A")
    percent = issue(client, maker, gtin=gtin, granularity="batch", lot="PC-%41")
    for issued in (plain, percent):
        answer = client.get(
            f"/api/v1/passports/{issued['id']}",
            environ_overrides={"RAW_URI": "", "REQUEST_URI": ""},
        )
        assert answer.status_code == 200
        assert answer.get_json()["id"] == issued["id"]


def test_an_absolute_form_raw_uri_is_understood(client: FlaskClient, maker: str) -> None:
    """gunicorn passes the request target as sent, which may be in absolute form."""
    issued = issue(client, maker, gtin=fresh_gtin(), granularity="batch", lot="A/%B")
    path = f"/api/v1/passports/{issued['id']}"
    answer = client.get(path, environ_overrides={"RAW_URI": f"http://localhost{path}?x=1"})
    assert answer.status_code == 200
    assert answer.get_json()["id"] == issued["id"]
