"""Restricted credentials at rest: packed and unpacked byte for byte, codec 1 fixed forever."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import LedgerInconsistent
from passport.store import packing
from tests.helpers import example


def test_codec_1_dictionary_never_changes() -> None:
    """Rows packed by an earlier release unpack only with the very same dictionary: a new
    dictionary is a new codec, never an edit of this one."""
    digest = hashlib.sha256(packing._DICTIONARY_V1).hexdigest()
    assert digest == "039506c05eaf3bb2e3df477405fa94f5f627205280870478d074cc57c6e32224"


@given(st.binary(max_size=3000))
def test_anything_unpacks_to_what_was_packed(text: bytes) -> None:
    assert packing.unpack(packing.pack(text)) == text


def test_a_credential_packs_small() -> None:
    text = repr(example("textile")["product"]).encode()
    assert len(packing.pack(text)) < len(text) / 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: b"\x02" + p[1:],  # an unknown codec
        lambda p: p[:-3],  # cut short
        lambda p: p + b"x",  # extra bytes
        lambda p: p[:5] + bytes([p[5] ^ 0xFF]) + p[6:],  # a changed byte
        lambda p: b"",
    ],
)
def test_damaged_values_are_refused(damage) -> None:  # type: ignore[no-untyped-def]
    packed = packing.pack(b'{"salt":"abc","product":{"name":"Deken"}}')
    with pytest.raises(LedgerInconsistent):  # zlib's Adler-32 catches a changed byte
        packing.unpack(damage(packed))
