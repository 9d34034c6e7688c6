"""Whatever a caller throws at a write endpoint, the answer is a 4xx problem document.

Random deeply nested, huge and malformed JSON and CSV, each sent to every write endpoint with
each media type it accepts (and a wrong one): never a 5xx, never anything but a problem.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.core.limits import MAX_JSON_DEPTH
from tests.helpers import bearer

PROBLEM = "application/problem+json"


def _nested(depth: int, leaf: str) -> str:
    return "".join('{"a":[' for _ in range(depth)) + leaf + "".join("]}" for _ in range(depth))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["01/08712345678906", "textile", "item", "\u202e", "\x00", "9" * 400]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["gtin", "category", "granularity", "product", "serial", "lot", "x"])
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)

# Texts that are JSON and texts that only look like it: deep, huge, broken, or random bytes.
HOSTILE_JSON = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.integers(MAX_JSON_DEPTH - 2, 3 * MAX_JSON_DEPTH).map(lambda d: _nested(d, "1").encode()),
    st.integers(1, 6_000).map(lambda n: b'{"gtin":' + b"9" * n + b"}"),
    st.integers(100, 20_000).map(lambda n: b"[" * n),
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
)

_HEADER = "gtin,category,granularity,serial,name,fibre.1.material,fibre.1.percent"
CSV_CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(['"', '""', '"a\nb"', "\r", "\u2028", "\x85", "\x00", "=1+1", "9" * 500]),
    st.integers(1, 200).map(lambda d: _nested(d, "1")),
)
HOSTILE_CSV = st.one_of(
    st.lists(st.lists(CSV_CELLS, max_size=8), max_size=6).map(
        lambda rows: "\r\n".join([_HEADER, *(",".join(row) for row in rows)]).encode()
    ),
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
)


def _assert_problem(response: Any, what: str) -> None:
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {text[:300]}"
    assert response.mimetype == PROBLEM, f"{what}: {response.mimetype}"
    assert len(text) < 64_000, f"{what}: a {len(text)}-character answer echoes the input"


HOSTILE = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("endpoint", ["passports", "bulk", "versions"])
def test_hostile_json_gets_only_4xx_problems(fuzz_app: Flask, endpoint: str) -> None:
    client = fuzz_app.test_client()
    headers = bearer(fuzz_app.config["FUZZ_TOKEN"])
    url = {
        "passports": "/api/v1/passports",
        "bulk": "/api/v1/passports:bulk",
        "versions": f"/api/v1/passports/{fuzz_app.config['FUZZ_PASSPORT']}/versions",
    }[endpoint]

    @HOSTILE
    @given(body=HOSTILE_JSON, media=st.sampled_from(["application/json", "text/plain"]))
    def check(body: bytes, media: str) -> None:
        response = client.post(url, data=body, content_type=media, headers=headers)
        if endpoint == "versions" and response.status_code == 201:
            return  # a random body that is a valid correction: accepted, rightly
        _assert_problem(response, f"POST {url} ({media}) {body[:80]!r}")

    check()


def test_hostile_csv_gets_only_4xx_problems(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()
    headers = bearer(fuzz_app.config["FUZZ_TOKEN"])

    @HOSTILE
    @given(body=HOSTILE_CSV, media=st.sampled_from(["text/csv", "text/csv; charset=latin-1"]))
    def check(body: bytes, media: str) -> None:
        response = client.post(
            "/api/v1/passports:bulk", data=body, content_type=media, headers=headers
        )
        _assert_problem(response, f"CSV ({media}) {body[:80]!r}")

    check()
