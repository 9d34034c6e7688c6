"""canonicalize agrees with the rfc8785 reference on every JSON value, fast path or not."""

from __future__ import annotations

import base64
import hashlib
from enum import Enum, IntEnum, StrEnum

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput
from passport.core.product.credentials import digest_sri
from passport.core.signing.canonical import (
    canonicalize,
)

SAFE = 2**53 - 1
TRICKY_CHARS = "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\x80\u2028\u2029/\\\"'<>&é€\ud800\udfff\U0001f600"

characters = st.characters(blacklist_categories=()) | st.sampled_from(TRICKY_CHARS)
texts = st.text(characters, max_size=12)
keys = texts | st.sampled_from(["", "a", "A", "é", "\u20ac", "\U0001f600", "\ufb33", "10", "1"])
integers = (
    st.integers(min_value=-SAFE - 2, max_value=SAFE + 2)
    | st.integers()
    | st.sampled_from([0, -1, SAFE, -SAFE, SAFE + 1, -SAFE - 1, 2**63, 2**64])
)
floats = st.floats() | st.sampled_from([0.0, -0.0, 1.0, 1e21, 1e-7, 5e-324, 2.0**53])
scalars = st.none() | st.booleans() | integers | texts | floats
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def _reference(value: object) -> bytes | None:
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeError):
        return None


@given(json_values)
def test_matches_rfc8785(value: object) -> None:
    expected = _reference(value)
    if expected is None:
        with pytest.raises(InvalidInput):
            canonicalize(value)
    else:
        assert canonicalize(value) == expected


@given(
    st.recursive(st.none() | st.booleans() | integers | texts, lambda c: st.lists(c, max_size=4))
)
def test_matches_rfc8785_without_floats(value: object) -> None:
    expected = _reference(value)
    if expected is None:
        with pytest.raises(InvalidInput):
            canonicalize(value)
    else:
        assert canonicalize(value) == expected


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    LARGE = 3


class Plain(Enum):
    ONE = 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, False, None]}, b'{"a":[true,false,null],"b":1}'),
        # UTF-16 order puts U+20AC before U+1F600 and U+FB33 (surrogates sort below U+E000+).
        ({"\ufb33": 1, "\U0001f600": 2, "\u20ac": 3}, '{"€":3,"😀":2,"דּ":1}'.encode()),
        ({"1": 1, "10": 2, "": 0}, b'{"":0,"1":1,"10":2}'),
        ([1.0, 1e21, -0.0, 0.1], b"[1,1e+21,0,0.1]"),
        ("\u2028/\x7f\x1f\n", '"\u2028/\x7f\\u001f\\n"'.encode()),
        ([SAFE, -SAFE], b"[9007199254740991,-9007199254740991]"),
        ((1, "x"), b'[1,"x"]'),
        ({"c": Colour.RED, "s": Size.LARGE}, b'{"c":"red","s":3}'),
        ({}, b"{}"),
        ([], b"[]"),
    ],
)
def test_known_answers(value: object, expected: bytes) -> None:
    assert canonicalize(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        {"x": float("inf")},
        SAFE + 1,
        [-(2**64)],
        {1: "non-string key"},
        "\ud800",
        {"\udfff": 1},
        Plain.ONE,
        {"set": {1}},
        b"bytes",
    ],
)
def test_values_without_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        canonicalize(value)


def test_digest_sri_known_answers() -> None:
    expected = "sha256-" + base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    assert digest_sri(b"abc") == expected
    assert digest_sri(b"") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_nesting_deeper_than_orjson_allows_falls_back() -> None:
    value: object = "leaf"
    for _ in range(300):
        value = [value]
    assert canonicalize(value) == rfc8785.dumps(value)  # type: ignore[arg-type]
