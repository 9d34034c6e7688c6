"""W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from passport.core.errors import InvalidInput, InvalidKey, SignatureInvalid
from passport.core.signing.canonical import canonicalize
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


def format_created(created: datetime) -> str:
    """Format an aware datetime as the UTC `YYYY-MM-DDTHH:MM:SSZ` proof timestamp."""
    if created.tzinfo is None or created.utcoffset() is None:
        raise InvalidInput("created must be a timezone-aware datetime")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_credential(
    document: Mapping[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """Return a new dict: `document` with an `eddsa-jcs-2022` Data Integrity proof added.

    The copy is shallow (nested values are shared with `document`): signing thousands of
    passports in one request must not copy each one again.
    """
    if "proof" in document:
        raise InvalidInput("document already has a proof")
    # A shallow copy: the caller's document is not changed, and nothing is copied twice.
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
    signature = private_key.sign(hash_data(proof_config=options, document=unsecured, floats=False))
    return {**unsecured, "proof": {**options, "proofValue": encode_signature(signature)}}


def verify_credential(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], bytes | Ed25519PublicKey],
    proof_purpose: str = ASSERTION_METHOD,
    canonical: Callable[[object], bytes] | None = None,
) -> VerifiedCredential:
    """Verify the `eddsa-jcs-2022` proof of `document` and return the unsecured credential.

    `canonical`: as for `hash_data`, for a caller that checked `fast_path_ok(document)`.
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
    try:
        digest = hash_data(
            proof_config=proof_configuration(proof), document=unsecured, canonical=canonical
        )
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


def _load_key(raw: bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    if isinstance(raw, Ed25519PublicKey):
        return raw  # already loaded (and checked) by the caller
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidKey(f"verification method key: {exc}") from exc
