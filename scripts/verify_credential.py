"""Verify a credential the way an outsider would: eddsa-jcs-2022 from the W3C spec.

Usage: python scripts/verify_credential.py CREDENTIAL.json [--resolve HOST=BASE_URL]

It shares no code with the service: the `rfc8785` reference canonicaliser (not the service's
fast path), `cryptography` and its own base58 decoder; it learns the issuer's keys only from
the DID document at `did:web` → `https://HOST/…/did.json` (`--resolve` maps a host to another
base URL, e.g. `127.0.0.1%3A5000=http://127.0.0.1:5000` for a local run). The test suite uses
it as its independent verifier. Exit status 0 means the signature verified.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

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


def http_fetcher(resolve: dict[str, str]) -> Callable[[str, str], dict[str, Any]]:
    """Return a fetcher for DID documents over HTTPS, or over the mapped base URLs."""

    def fetch(host: str, path: str) -> dict[str, Any]:
        base = resolve.get(quote(host, safe=""), f"https://{host}")
        with urllib.request.urlopen(base.rstrip("/") + path, timeout=20) as response:
            loaded: dict[str, Any] = json.loads(response.read())
            return loaded

    return fetch


def main() -> int:
    """Verify one credential file and say what was checked."""
    parser = argparse.ArgumentParser(description="Verify an eddsa-jcs-2022 credential.")
    parser.add_argument("credential", help="a JSON file holding one credential ('-' for stdin)")
    parser.add_argument("--resolve", action="append", default=[], metavar="HOST=BASE_URL")
    args = parser.parse_args()
    text = sys.stdin.read() if args.credential == "-" else Path(args.credential).read_text()
    credential = json.loads(text)
    resolve = dict(item.split("=", 1) for item in args.resolve)
    try:
        method = verify(credential, http_fetcher(resolve))
    except VerificationFailed as exc:
        print(f"NOT VERIFIED: {exc}", file=sys.stderr)
        return 1
    print(f"verified: signed by {method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
