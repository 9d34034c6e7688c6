"""C2SP signed-note example and the Go sumdb/note known-answer signature, byte for byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from passport.core.errors import SignatureInvalid
from passport.core.log.note import (
    EM_DASH,
    key_id,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    signer_key,
    verifier_key,
    verify_note,
)


@pytest.fixture
def vectors(conformance_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (conformance_dir / "signed-note" / "vectors.json").read_text(encoding="utf-8")
    )
    return loaded


def _signature_blob(note: str) -> tuple[str, bytes]:
    """Return (key name, key id ‖ signature) of a note's last signature line."""
    line = note.rstrip("\n").rsplit("\n", 1)[1]
    dash, name, encoded = line.split(" ")
    assert dash == EM_DASH
    return name, base64.b64decode(encoded, validate=True)


def test_vectors_offer_what_the_tests_use(vectors: dict[str, Any]) -> None:
    assert set(vectors) >= {"c2sp_example", "sumdb_sign"}
    assert set(vectors["c2sp_example"]) == {"vkey", "note"}
    assert set(vectors["sumdb_sign"]) == {"skey", "vkey", "text", "signature_line"}


def test_c2sp_example_key_and_key_id(vectors: dict[str, Any]) -> None:
    example = vectors["c2sp_example"]
    name, public_key = parse_verifier_key(example["vkey"])
    assert name == "example.com/foo"
    assert key_id(name, public_key).hex() == example["vkey"].split("+")[1] == "530d903a"
    assert verifier_key(name, public_key) == example["vkey"]
    signer, blob = _signature_blob(example["note"])
    assert signer == name
    assert blob[:4] == key_id(name, public_key)
    assert len(blob) == 4 + 64


def test_c2sp_example_note_verifies(vectors: dict[str, Any]) -> None:
    example = vectors["c2sp_example"]
    name, public_key = parse_verifier_key(example["vkey"])
    body = verify_note(example["note"].encode(), name=name, public_key=public_key)
    assert body == b"This is an example message.\n"


def test_c2sp_example_tampered_text_or_name_fails(vectors: dict[str, Any]) -> None:
    example = vectors["c2sp_example"]
    name, public_key = parse_verifier_key(example["vkey"])
    note = example["note"].encode()
    with pytest.raises(SignatureInvalid):
        verify_note(
            note.replace(b"example message", b"example messagE"), name=name, public_key=public_key
        )
    with pytest.raises(SignatureInvalid):
        verify_note(note, name="example.com/bar", public_key=public_key)


def test_sumdb_keys_round_trip(vectors: dict[str, Any]) -> None:
    case = vectors["sumdb_sign"]
    name, private_key = parse_signer_key(case["skey"])
    verifier_name, public_key = parse_verifier_key(case["vkey"])
    assert name == verifier_name == "PeterNeumann"
    assert private_key.public_key().public_bytes_raw() == public_key
    assert verifier_key(name, public_key) == case["vkey"]
    assert signer_key(name, private_key.private_bytes_raw()) == case["skey"]
    assert key_id(name, public_key).hex() == case["vkey"].split("+")[1] == "c74f20a3"


def test_sumdb_signature_is_reproduced_byte_for_byte(vectors: dict[str, Any]) -> None:
    case = vectors["sumdb_sign"]
    name, private_key = parse_signer_key(case["skey"])
    signed = sign_note(case["text"].encode(), name=name, private_key=private_key)
    # Ed25519 is deterministic, so our signature line must equal Go's exactly.
    assert signed == (case["text"] + "\n" + case["signature_line"]).encode()
    _, public_key = parse_verifier_key(case["vkey"])
    assert verify_note(signed, name=name, public_key=public_key) == case["text"].encode()


def test_sumdb_known_signature_verifies_and_a_bit_flip_fails(vectors: dict[str, Any]) -> None:
    case = vectors["sumdb_sign"]
    name, public_key = parse_verifier_key(case["vkey"])
    note = case["text"] + "\n" + case["signature_line"]
    assert verify_note(note.encode(), name=name, public_key=public_key) == case["text"].encode()
    _, blob = _signature_blob(note)
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    forged = f"{case['text']}\n{EM_DASH} {name} {base64.b64encode(flipped).decode()}\n"
    with pytest.raises(SignatureInvalid):
        verify_note(forged.encode(), name=name, public_key=public_key)
