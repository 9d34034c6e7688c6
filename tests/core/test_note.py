"""Signed notes and checkpoints: round trip; any changed byte, wrong key or malformed note fails."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.core.errors import (
    InvalidInput,
    InvalidKey,
    LedgerInconsistent,
    PassportError,
    SignatureInvalid,
)
from passport.core.log.note import (
    MAX_NOTE,
    MAX_SIGNATURES,
    Checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint_body,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    signer_key,
    verifier_key,
    verify_note,
)

NAME = "dpp.example.nl/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
CHECKPOINT = Checkpoint(NAME, 12345, hashlib.sha256(b"root").digest())
NOTE = sign_note(CHECKPOINT.body(), name=NAME, private_key=KEY)


def signature_line(name: str, blob: bytes) -> bytes:
    return f"\u2014 {name} {base64.b64encode(blob).decode()}\n".encode()


def cosigned(note: bytes, name: str, key: Ed25519PrivateKey) -> bytes:
    """Add another signature line (over the same text) to a signed note."""
    body = note[: note.rindex(b"\n\n") + 1]
    return note + sign_note(body, name=name, private_key=key)[len(body) + 1 :]


def test_round_trip() -> None:
    assert NOTE.startswith(f"{NAME}\n12345\n".encode())
    assert open_checkpoint(NOTE, name=NAME, public_key=PUBLIC) == CHECKPOINT
    assert verify_note(NOTE, name=NAME, public_key=PUBLIC) == CHECKPOINT.body()
    assert parse_verifier_key(verifier_key(NAME, PUBLIC)) == (NAME, PUBLIC)
    name, key = parse_signer_key(signer_key(NAME, bytes(range(32))))
    assert (name, key.public_key().public_bytes_raw()) == (NAME, PUBLIC)


def test_signature_line_has_the_spec_shape() -> None:
    body, block = NOTE.split(b"\n\n")
    dash, name, encoded = block.decode().rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", NAME)
    blob = base64.b64decode(encoded)
    assert blob[:4] == key_id(NAME, PUBLIC)
    assert blob[4:] == KEY.sign(body + b"\n")


@settings(max_examples=400, deadline=None)
@given(position=st.integers(0, len(NOTE) - 1), value=st.integers(0, 255))
def test_any_changed_byte_is_refused(position: int, value: int) -> None:
    if NOTE[position] == value:
        value ^= 1
    changed = NOTE[:position] + bytes([value]) + NOTE[position + 1 :]
    with pytest.raises(PassportError):
        open_checkpoint(changed, name=NAME, public_key=PUBLIC)


def test_wrong_key_or_name_is_refused() -> None:
    with pytest.raises(SignatureInvalid):
        open_checkpoint(NOTE, name=NAME, public_key=OTHER.public_key().public_bytes_raw())
    with pytest.raises(SignatureInvalid):
        open_checkpoint(NOTE, name="other.example/log", public_key=PUBLIC)
    with pytest.raises(InvalidKey):
        verify_note(NOTE, name=NAME, public_key=bytes(32))  # a small-order key is never pinned


def test_signatures_by_other_keys_are_ignored() -> None:
    witnessed = cosigned(NOTE, "witness.example/w1", OTHER)
    assert open_checkpoint(witnessed, name=NAME, public_key=PUBLIC) == CHECKPOINT
    # Same name, other key (a rotated log key): ignored, ours still verifies.
    rotated = cosigned(NOTE, NAME, OTHER)
    assert open_checkpoint(rotated, name=NAME, public_key=PUBLIC) == CHECKPOINT
    # Same key id under another name: not our key either.
    blob = key_id(NAME, PUBLIC) + bytes(64)
    assert verify_note(
        NOTE + signature_line("impostor.example", blob), name=NAME, public_key=PUBLIC
    )


def test_a_failing_signature_by_our_key_rejects_the_note() -> None:
    bad = NOTE.split(b"\n\n")[0] + b"\n\n" + signature_line(NAME, key_id(NAME, PUBLIC) + bytes(64))
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_note(bad, name=NAME, public_key=PUBLIC)


def test_text_may_contain_blank_lines() -> None:
    text = b"Ognuno sta solo\n\ned \xc3\xa8 subito sera.\n"
    note = sign_note(text, name=NAME, private_key=KEY)
    assert verify_note(note, name=NAME, public_key=PUBLIC) == text


MANGLERS: dict[str, Callable[[bytes], bytes]] = {
    "no final newline": lambda n: n.rstrip(b"\n"),
    "duplicate signature": lambda n: n + n[n.rindex(b"\n\n") + 2 :],
    "no blank line": lambda n: n.replace(b"\n\n", b"\n"),
    "blank line at the end": lambda n: n + b"\n",
    "hyphen for em dash": lambda n: n.replace("\u2014".encode(), b"-"),
    "en dash for em dash": lambda n: n.replace("\u2014".encode(), "\u2013".encode()),
    "two spaces": lambda n: n.replace(f"{NAME} ".encode(), f"{NAME}  ".encode()),
    "trailing space": lambda n: n[:-1] + b" \n",
    "not base64": lambda n: n + signature_line(NAME, b"x")[:-5] + b"!!!!\n",
    "non-canonical base64": lambda n: n[:-3] + bytes([n[-3] + 1]) + n[-2:],
    "short signature": lambda n: n + signature_line("a.example", b"abcd"),
    "name with plus": lambda n: n + signature_line("a+b", bytes(68)),
    "empty name": lambda n: n + "\u2014  AAAA\n".encode(),
    "carriage return": lambda n: n.replace(b"\n\n", b"\r\n\n"),
    "tab in text": lambda n: n.replace(b"12345", b"12\t345"),
    "not UTF-8": lambda n: n.replace(b"12345", b"\xff12345"),
    "oversized": lambda n: b"x" * MAX_NOTE + n,
    "too many signatures": lambda n: n + signature_line("w.example", bytes(68)) * MAX_SIGNATURES,
    "no signature": lambda n: n[: n.rindex(b"\n\n") + 2],
}


@pytest.mark.parametrize("mangle", MANGLERS.values(), ids=MANGLERS.keys())
def test_malformed_notes_are_refused(mangle: Callable[[bytes], bytes]) -> None:
    with pytest.raises(SignatureInvalid):
        verify_note(mangle(NOTE), name=NAME, public_key=PUBLIC)


def test_many_foreign_signatures_up_to_the_limit_are_accepted() -> None:
    crowded = NOTE + signature_line("w.example", bytes(68)) * (MAX_SIGNATURES - 1)
    assert verify_note(crowded, name=NAME, public_key=PUBLIC) == CHECKPOINT.body()


@pytest.mark.parametrize(
    "body",
    [
        b"\n12345\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        b"o\n012\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        b"o\n+12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # sign
        b"o\n\xd9\xa1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # Arabic-Indic digit
        b"o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # 2^64
        b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  # 31 bytes
        b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
        b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # missing padding
        b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\next\n",  # empty extension
        b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
        b"o\n1\n",  # no root line
    ],
)
def test_checkpoint_bodies_are_parsed_strictly(body: bytes) -> None:
    with pytest.raises(LedgerInconsistent):
        parse_checkpoint_body(body)


def test_checkpoint_extensions_and_limits_round_trip() -> None:
    checkpoint = Checkpoint("o", 2**64 - 1, bytes(32), ("ext one", "ext two"))
    assert parse_checkpoint_body(checkpoint.body()) == checkpoint
    assert parse_checkpoint_body(Checkpoint("o", 0, bytes(32)).body()).size == 0
    for bad in (
        ("", 1, bytes(32)),
        ("o", -1, bytes(32)),
        ("o", 1, bytes(31)),
        ("o\nx", 1, bytes(32)),
    ):
        with pytest.raises(InvalidInput):
            Checkpoint(*bad)
    with pytest.raises(InvalidInput):
        Checkpoint("o", 1, bytes(32), ("",))


def test_origin_must_be_the_expected_one() -> None:
    note = sign_note(
        Checkpoint("other.example/log", 1, bytes(32)).body(), name=NAME, private_key=KEY
    )
    with pytest.raises(LedgerInconsistent, match="origin"):
        open_checkpoint(note, name=NAME, public_key=PUBLIC)
    opened = open_checkpoint(note, name=NAME, public_key=PUBLIC, origin="other.example/log")
    assert opened.origin == "other.example/log"


def test_signing_refuses_what_could_not_be_verified() -> None:
    with pytest.raises(InvalidKey):
        sign_note(b"text\n", name="has space", private_key=KEY)
    for body in (b"no newline", b"ctrl\x07\n", b"\xff\n"):
        with pytest.raises(InvalidInput):
            sign_note(body, name=NAME, private_key=KEY)


def test_bad_keys_are_refused() -> None:
    good = verifier_key(NAME, PUBLIC)
    name, hex_id, blob = good.split("+", 2)
    for bad in (
        f"{name}+00000000+{blob}",
        f"{name}+{hex_id.upper()}+{blob}",
        f"{name}+{hex_id}",
        f"{name} x+{hex_id}+{blob}",
        f"{good}\n",
        f"{name}+{hex_id}+{blob[:-2]}",
        f"{name}+{hex_id}+" + base64.b64encode(b"\x02" + PUBLIC).decode(),
    ):
        with pytest.raises(InvalidKey):
            parse_verifier_key(bad)
    with pytest.raises(InvalidKey):
        parse_verifier_key(verifier_key(NAME, bytes(32)))  # the identity point: small order
    skey = signer_key(NAME, bytes(range(32)))
    for bad in (skey.replace("PRIVATE", "PUBLIC"), skey[:-4] + "!!!=", skey.replace(NAME, "x")):
        with pytest.raises(InvalidKey):
            parse_signer_key(bad)
