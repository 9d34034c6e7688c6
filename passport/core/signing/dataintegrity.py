"""W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from passport.core.errors import InvalidInput, InvalidKey, SignatureInvalid
from passport.core.signing.canonical import (
    canonicalize,
    canonicalize_known,
    fast_path_ok,
    sorted_json,
)
from passport.core.signing.multibase import decode_signature, encode_signature

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION_METHOD = "assertionMethod"


@dataclass(frozen=True)
class VerifiedCredential:
    """A credential whose proof verified, without the proof."""

    document: dict[str, Any]
    verification_method: str
    created: str


def proof_configuration(proof: Mapping[str, Any]) -> dict[str, Any]:
    """Return the proof configuration: the proof options without `proofValue`."""
    config = dict(proof)
    config.pop("proofValue", None)
    return config


def unsecured_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the document without its `proof`."""
    unsecured = dict(document)
    unsecured.pop("proof", None)
    return unsecured


def hash_data(
    *,
    proof_config: Mapping[str, Any],
    document: Mapping[str, Any],
    floats: bool = True,
    canonical: Callable[[object], bytes] | None = None,
) -> bytes:
    """Return SHA-256(JCS(proof config)) followed by SHA-256(JCS(unsecured document)).

    A caller that has already checked the whole credential with `fast_path_ok` may pass
    `canonical=sorted_json`: the same bytes, without walking the document again.
    """
    if canonical is not None:
        return _sha256(canonical(proof_config)) + _sha256(canonical(document))
    return _sha256(canonicalize(proof_config)) + _sha256(canonicalize(document, floats=floats))


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@functools.lru_cache(maxsize=64)  # a bulk request signs thousands of times at one instant
def format_created(created: datetime) -> str:
    """Format an aware datetime as the UTC `YYYY-MM-DDTHH:MM:SSZ` proof timestamp."""
    if created.tzinfo is None or created.utcoffset() is None:
        raise InvalidInput("created must be a timezone-aware datetime")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class SignedCredential:
    """A credential with its proof, and its RFC 8785 bytes (what the ledger stores)."""

    credential: dict[str, Any]
    jcs: bytes


def sign_credential(
    document: Mapping[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = ASSERTION_METHOD,
) -> SignedCredential:
    """Sign `document` with an `eddsa-jcs-2022` proof; return it and its canonical bytes.

    The copy is shallow (nested values are shared with `document`): signing thousands of
    passports in one request must not copy each one again. The document is walked once to
    decide the canonical path; the proof this function adds is strings only, so the same
    answer holds for the proof options and for the signed credential.
    """
    if "proof" in document:
        raise InvalidInput("document already has a proof")
    unsecured = dict(document)
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in unsecured:
        context = unsecured["@context"]
        options["@context"] = list(context) if isinstance(context, list) else context
    fast = fast_path_ok(unsecured) and fast_path_ok(options)
    to_sign = _sha256(canonicalize_known(options, fast=fast, floats=False)) + _sha256(
        canonicalize_known(unsecured, fast=fast, floats=False)
    )
    proof = {**options, "proofValue": encode_signature(private_key.sign(to_sign))}
    signed = {**unsecured, "proof": proof}
    return SignedCredential(signed, canonicalize_known(signed, fast=fast))


def verify_credential(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], bytes | Ed25519PublicKey],
    proof_purpose: str = ASSERTION_METHOD,
    signed: tuple[bytes, bytes] | None = None,
) -> VerifiedCredential:
    """Verify the `eddsa-jcs-2022` proof of `document` and return the unsecured credential.

    `signed`: the canonical texts of the proof configuration and of the document without its
    proof, for a caller that holds them already (`signed_parts`); else they are made here.
    """
    # 1. A single embedded proof object.
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise SignatureInvalid("proof: missing or not a single object")
    # 2. Proof type, cryptosuite and purpose.
    if proof.get("type") != PROOF_TYPE:
        raise SignatureInvalid(f"proof type: expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise SignatureInvalid(f"proof cryptosuite: expected {CRYPTOSUITE!r}")
    if proof.get("proofPurpose") != proof_purpose:
        raise SignatureInvalid(f"proof purpose: expected {proof_purpose!r}")
    method, created = proof.get("verificationMethod"), proof.get("created")
    if not isinstance(method, str) or not isinstance(created, str):
        raise SignatureInvalid("proof verificationMethod and created: must be strings")
    # 3. The proof is bound to the very contexts the document is read with.
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise SignatureInvalid("proof @context: differs from the document @context")
    # 4. The proof value is a 64-byte signature.
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str):
        raise SignatureInvalid("proofValue: missing or not a string")
    signature = decode_signature(proof_value)
    # 5. Hash what was signed.
    unsecured = unsecured_document(document)
    if signed is not None:
        digest = _sha256(signed[0]) + _sha256(signed[1])
    else:
        try:
            digest = hash_data(proof_config=proof_configuration(proof), document=unsecured)
        except InvalidInput as exc:
            raise SignatureInvalid(f"hash data: {exc.detail}") from exc
    # 6. The key of the verification method.
    public_key = _load_key(resolve_key(method))
    # 7. The signature.
    try:
        public_key.verify(signature, digest)
    except InvalidSignature as exc:
        raise SignatureInvalid("signature: does not verify") from exc
    return VerifiedCredential(document=unsecured, verification_method=method, created=created)


def signed_parts(text: bytes, credential: Mapping[str, Any]) -> tuple[bytes, bytes] | None:
    """Cut what an `eddsa-jcs-2022` proof signs out of a credential's stored canonical text.

    For `text` and its parse `credential`, which `fast_path_ok` accepted: check that `text` is
    the credential's RFC 8785 form (one serialisation), and return (the proof configuration,
    the document without its proof) as cuts of `text` itself.
    None when `text` is not that form, has no proof value, or the cut is ambiguous: the caller
    then takes the reference path, which says what is wrong.

    The cut is made where the proof member occurs, found by its bytes. They hold the proof
    value, a signature over everything else in the text, so another occurrence could only lie
    inside what that signature covers: ambiguous, refused here, and unforgeable anyway.
    """
    proof = credential.get("proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("proofValue"), str):
        return None
    if sorted_json(credential) != text:
        return None
    proof_text = sorted_json(proof)
    unsecured = _cut(text, b'"proof":' + proof_text)
    configuration = _cut(proof_text, b'"proofValue":' + sorted_json(proof["proofValue"]))
    if unsecured is None or configuration is None:
        return None
    return configuration, unsecured


def _cut(text: bytes, member: bytes) -> bytes | None:
    """Return the JSON object `text` without `member` (`"key":value`) and its comma, if the
    member occurs exactly once and at the top level's member boundary; else None."""
    if text.count(member) != 1:
        return None
    start = text.index(member)
    end = start + len(member)
    before, after = text[start - 1 : start], text[end : end + 1]
    if before == b"," and after in (b",", b"}"):
        return text[: start - 1] + text[end:]  # a later member, or the last one
    if before == b"{" and after == b",":
        return text[:start] + text[end + 1 :]  # the first of several
    if before == b"{" and after == b"}":
        return b"{}"
    return None


def _load_key(raw: bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    if isinstance(raw, Ed25519PublicKey):
        return raw  # already loaded (and checked) by the caller
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidKey(f"verification method key: {exc}") from exc
