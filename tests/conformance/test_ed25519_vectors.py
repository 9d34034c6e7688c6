"""C2SP CCTV Ed25519 edge cases pin the public-key policy applied when a key is registered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.errors import InvalidKey
from passport.core.signing.ed25519 import check_public_key, load_public_key, public_key_bytes

REJECTED_FLAGS = {"low_order_A", "non_canonical_A"}


def _keys_by_verdict(conformance_dir: Path) -> tuple[set[bytes], set[bytes]]:
    vectors = json.loads((conformance_dir / "ed25519" / "cctv-ed25519vectors.json").read_text())
    rejected: set[bytes] = set()
    accepted: set[bytes] = set()
    for vector in vectors:
        key = bytes.fromhex(vector["key"])
        if REJECTED_FLAGS & set(vector["flags"] or ()):
            rejected.add(key)
        else:
            accepted.add(key)
    assert not rejected & accepted, "a key's flags differ between vectors"
    return rejected, accepted


def test_low_order_and_non_canonical_keys_are_rejected(conformance_dir: Path) -> None:
    rejected, _ = _keys_by_verdict(conformance_dir)
    assert len(rejected) >= 10
    for key in rejected:
        with pytest.raises(InvalidKey):
            check_public_key(key)


def test_other_keys_are_accepted(conformance_dir: Path) -> None:
    _, accepted = _keys_by_verdict(conformance_dir)
    assert len(accepted) >= 5
    for key in accepted:
        check_public_key(key)


def test_fresh_key_is_accepted() -> None:
    raw = public_key_bytes(Ed25519PrivateKey.generate().public_key())
    assert public_key_bytes(load_public_key(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x01" * 31, "32 bytes"),
        (b"\xff" * 31 + b"\x7f", "not reduced"),
        ((1).to_bytes(32, "little"), "small order"),
        ((2).to_bytes(32, "little"), "not a point"),
        ((1 | 1 << 255).to_bytes(32, "little"), "sign bit"),
    ],
)
def test_each_rejection_names_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason):
        check_public_key(raw)
