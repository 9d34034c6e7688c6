"""Signed checkpoints: round trip; any changed byte, wrong key or malformed note is refused."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.core.errors import InvalidKey, LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.note import (
    Checkpoint,
    open_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

NAME = "dpp.example.nl/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
CHECKPOINT = Checkpoint(NAME, 12345, hashlib.sha256(b"root").digest())
NOTE = sign_note(CHECKPOINT.body(), name=NAME, private_key=KEY)


def test_round_trip() -> None:
    assert open_checkpoint(NOTE, name=NAME, public_key=PUBLIC) == CHECKPOINT
    assert parse_verifier_key(verifier_key(NAME, PUBLIC)) == (NAME, PUBLIC)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(NOTE) - 1), value=st.integers(0, 255))
def test_any_changed_byte_is_refused(position: int, value: int) -> None:
    if NOTE[position] == value:
        return
    changed = NOTE[:position] + bytes([value]) + NOTE[position + 1 :]
    with pytest.raises(PassportError):
        open_checkpoint(changed, name=NAME, public_key=PUBLIC)


def test_wrong_key_or_name_is_refused() -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(SignatureInvalid):
        open_checkpoint(NOTE, name=NAME, public_key=other)
    with pytest.raises(SignatureInvalid):
        open_checkpoint(NOTE, name="other.example/log", public_key=PUBLIC)


def test_origin_must_be_the_key_name() -> None:
    body = Checkpoint("other.example/log", 1, bytes(32)).body()
    note = sign_note(body, name=NAME, private_key=KEY)
    with pytest.raises(LedgerInconsistent):
        open_checkpoint(note, name=NAME, public_key=PUBLIC)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.rstrip(b"\n"),  # no final newline
        lambda n: n + n[n.rindex(b"\n\n") + 2 :],  # the same signature twice
        lambda n: n.replace(b"\n\n", b"\n"),  # no blank line before the signatures
        lambda n: n.replace("\u2014".encode(), b"-"),  # a hyphen for the em dash
        lambda n: n + b"\xe2\x80\x94 " + NAME.encode() + b" !!!\n",  # malformed line
        lambda n: b"x" * (1 << 20) + n,  # oversized
    ],
)
def test_malformed_notes_are_refused(mangle: object) -> None:
    with pytest.raises(PassportError):
        open_checkpoint(mangle(NOTE), name=NAME, public_key=PUBLIC)  # type: ignore[operator]


def test_bad_verifier_keys_are_refused() -> None:
    good = verifier_key(NAME, PUBLIC)
    name, hex_id, blob = good.split("+", 2)
    for bad in (f"{name}+00000000+{blob}", f"{name}+{hex_id}", f"{name} x+{hex_id}+{blob}"):
        with pytest.raises(InvalidKey):
            parse_verifier_key(bad)
    small_order = bytes(32)  # the identity point: a small-order key
    with pytest.raises(InvalidKey):
        parse_verifier_key(verifier_key(NAME, small_order))
