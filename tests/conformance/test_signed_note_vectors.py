"""C2SP signed-note example and the Go sumdb/note known-answer signature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from passport.core.note import (
    key_id,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_note,
)


@pytest.fixture
def vectors(conformance_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (conformance_dir / "signed-note" / "vectors.json").read_text()
    )
    return loaded


def test_c2sp_example_verifies(vectors: dict[str, Any]) -> None:
    example = vectors["c2sp_example"]
    name, public_key = parse_verifier_key(example["vkey"])
    assert name == "example.com/foo"
    assert verifier_key(name, public_key) == example["vkey"]
    assert key_id(name, public_key).hex() == "530d903a"
    assert verify_note(example["note"].encode(), name=name, public_key=public_key) == (
        b"This is an example message.\n"
    )


def test_sumdb_signature_is_reproduced_byte_for_byte(vectors: dict[str, Any]) -> None:
    case = vectors["sumdb_sign"]
    name, private_key = parse_signer_key(case["skey"])
    signed = sign_note(case["text"].encode(), name=name, private_key=private_key)
    assert signed.decode() == case["text"] + "\n" + case["signature_line"]
    verifier_name, public_key = parse_verifier_key(case["vkey"])
    assert verifier_name == name
    assert verifier_key(name, public_key) == case["vkey"]
    assert verify_note(signed, name=name, public_key=public_key) == case["text"].encode()
