"""The W3C vc-di-eddsa `eddsa-jcs-2022` test vector round-trips byte for byte."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.signing.canonical import canonicalize
from passport.core.signing.dataintegrity import (
    VerifiedCredential,
    hash_data,
    proof_configuration,
    sign_credential,
    unsecured_document,
    verify_credential,
)
from passport.core.signing.ed25519 import public_key_bytes
from passport.core.signing.multibase import decode_multikey, decode_signature
from tests.multikey import decode_private_multikey


@pytest.fixture(scope="module")
def vectors(conformance_dir: Path) -> Path:
    return conformance_dir / "eddsa-jcs-2022"


def _text(vectors: Path, name: str) -> str:
    return (vectors / name).read_text().strip()


def _signed(vectors: Path) -> dict[str, Any]:
    signed: dict[str, Any] = json.loads((vectors / "signedJCS.json").read_text())
    return signed


def _private_key(vectors: Path) -> Ed25519PrivateKey:
    pair = json.loads((vectors / "keyPair.json").read_text())
    return Ed25519PrivateKey.from_private_bytes(
        decode_private_multikey(pair["privateKeyMultibase"])
    )


def _public_key(vectors: Path) -> bytes:
    return decode_multikey(json.loads((vectors / "keyPair.json").read_text())["publicKeyMultibase"])


def test_key_pair_matches(vectors: Path) -> None:
    assert public_key_bytes(_private_key(vectors).public_key()) == _public_key(vectors)


def test_signing_reproduces_the_signed_vector(vectors: Path) -> None:
    expected = _signed(vectors)
    proof = expected["proof"]
    signed = sign_credential(
        unsecured_document(expected),
        private_key=_private_key(vectors),
        verification_method=proof["verificationMethod"],
        created=datetime.fromisoformat(proof["created"]),
    ).credential
    assert signed["proof"]["proofValue"] == proof["proofValue"] == _text(vectors, "sigBTC58JCS.txt")
    assert signed == expected
    # Same keys in the same order, so even the pretty-printed file comes out identical.
    assert json.dumps(signed, indent=2) == (vectors / "signedJCS.json").read_text()


def test_intermediate_values_match(vectors: Path) -> None:
    signed = _signed(vectors)
    document = unsecured_document(signed)
    config = proof_configuration(signed["proof"])
    canon_doc, canon_proof = canonicalize(document), canonicalize(config)
    assert canon_doc.decode() == _text(vectors, "canonDocJCS.txt")
    assert canon_proof.decode() == _text(vectors, "proofCanonJCS.txt")
    assert config == json.loads((vectors / "proofConfigJCS.json").read_text())
    assert hashlib.sha256(canon_doc).hexdigest() == _text(vectors, "docHashJCS.txt")
    assert hashlib.sha256(canon_proof).hexdigest() == _text(vectors, "proofHashJCS.txt")
    # The README warns combinedHashJCS.txt may be older; at the pinned commit it still agrees.
    combined = hash_data(proof_config=config, document=document)
    assert combined.hex() == _text(vectors, "combinedHashJCS.txt")
    signature = decode_signature(signed["proof"]["proofValue"])
    assert signature.hex() == _text(vectors, "sigHexJCS.txt")
    assert _private_key(vectors).sign(combined) == signature


def test_signed_vector_verifies(vectors: Path) -> None:
    signed = _signed(vectors)
    method = signed["proof"]["verificationMethod"]
    keys = {method: _public_key(vectors)}
    verified = verify_credential(signed, resolve_key=keys.__getitem__)
    assert verified == VerifiedCredential(
        document=unsecured_document(signed),
        verification_method=method,
        created="2023-02-24T23:36:38Z",
    )
