"""An eddsa-jcs-2022 verifier written for the tests from the W3C spec, sharing no project code.

It uses the `rfc8785` reference canonicaliser (not the project's fast path), `cryptography` and
its own base58 decoder; it learns keys only from the issuer's DID document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class VerificationFailed(Exception):
    """The credential did not verify."""


def b58decode(text: str) -> bytes:
    """Decode base58btc."""
    number = 0
    for ch in text:
        number = number * 58 + _B58.index(ch)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def did_web_path(did: str) -> tuple[str, str]:
    """Return (host, path) where the DID document of a did:web lives."""
    parts = did.split(":")
    if parts[:2] != ["did", "web"]:
        raise VerificationFailed(f"not did:web: {did}")
    host = unquote(parts[2])
    return host, "/" + "/".join(unquote(p) for p in parts[3:]) + "/did.json"


def verify(credential: dict[str, Any], fetch: Callable[[str, str], dict[str, Any]]) -> str:
    """Verify `credential`, fetching DID documents with `fetch(host, path)`; return the method."""
    doc = dict(credential)
    proof = dict(doc.pop("proof"))
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != "eddsa-jcs-2022":
        raise VerificationFailed("wrong proof type")
    if "@context" in proof and proof["@context"] != doc.get("@context"):
        raise VerificationFailed("proof context differs")
    method = proof["verificationMethod"]
    did = method.split("#")[0]
    if did != doc["issuer"]:
        raise VerificationFailed("key does not belong to the issuer")
    did_doc = fetch(*did_web_path(did))
    if did_doc.get("id") != did:
        raise VerificationFailed("DID document id mismatch")
    if method not in did_doc.get("assertionMethod", []):
        raise VerificationFailed("not an assertion method")
    entry = next(m for m in did_doc["verificationMethod"] if m["id"] == method)
    if entry["type"] != "Multikey" or entry["controller"] != did:
        raise VerificationFailed("bad verification method")
    multikey = b58decode(entry["publicKeyMultibase"][1:])
    if multikey[:2] != b"\xed\x01" or len(multikey) != 34:
        raise VerificationFailed("not an Ed25519 multikey")
    signature = b58decode(proof.pop("proofValue")[1:])
    data = (
        hashlib.sha256(rfc8785.dumps(proof)).digest() + hashlib.sha256(rfc8785.dumps(doc)).digest()
    )
    try:
        Ed25519PublicKey.from_public_bytes(multikey[2:]).verify(signature, data)
    except Exception as exc:
        raise VerificationFailed("signature does not verify") from exc
    return str(method)
