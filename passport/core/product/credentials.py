"""Passport-version credentials: one signed credential per access tier, bound by digest."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.errors import SignatureInvalid
from passport.core.product.access import Tier
from passport.core.signing.canonical import canonicalize
from passport.core.signing.dataintegrity import (
    SignedCredential,
    format_created,
    sign_credential,
)

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CONTEXT_PATH = "/contexts/dpp/v1"
RESTRICTED_MEDIA_TYPE = "application/vc"


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs: the organisation's DID, the key's verification method and the key."""

    did: str
    verification_method: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class VersionClaim:
    """What one passport version states, before it is signed."""

    subject_id: str
    category: str
    granularity: str
    sequence: int
    previous_entry: str | None
    supersedes: str | None
    tiers: Mapping[Tier, Mapping[str, Any]]
    # The Digital Link URI of the passport this one was remanufactured from (first versions).
    predecessor: str | None = None
    # Its entry in the issuer's status list (`passport.core.lifecycle.status.status_entry`).
    status: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SignedVersion:
    """The signed public credential and the restricted ones it binds (of a passport version or
    of a lifecycle event)."""

    public: dict[str, Any]
    restricted: dict[Tier, dict[str, Any]]
    public_jcs: bytes
    restricted_jcs: dict[Tier, bytes]


def contexts(base_url: str) -> list[str]:
    """Return the `@context` of every credential this service issues."""
    return [VC_CONTEXT, base_url + CONTEXT_PATH]


def digest_sri(data: bytes) -> str:
    """Return the SRI string (`sha256-…`) of `data`."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def sign_version(
    claim: VersionClaim,
    *,
    signer: Signer,
    base_url: str,
    at: datetime,
    random_bytes: Callable[[int], bytes],
) -> SignedVersion:
    """Sign a passport version: its restricted tiers, then the public credential binding them."""
    public: dict[str, Any] = {
        **common_members(signer, base_url, at, claim.sequence, claim.previous_entry),
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "credentialSubject": {
            "id": claim.subject_id,
            "type": "Product",
            "category": claim.category,
            "granularity": claim.granularity,
            "product": dict(claim.tiers.get(Tier.PUBLIC, {})),
        },
    }
    if claim.supersedes is not None:
        public["supersedes"] = claim.supersedes
    if claim.predecessor is not None:
        public["predecessor"] = claim.predecessor
    if claim.status is not None:
        public["credentialStatus"] = dict(claim.status)
    return sign_bound(
        public, claim.tiers, member="product", signer=signer, at=at, random_bytes=random_bytes
    )


def common_members(
    signer: Signer, base_url: str, at: datetime, sequence: int, previous_entry: str | None
) -> dict[str, Any]:
    """The members every credential of a passport's history has: context, issuer, time, and
    its place in the history (sequence number and the previous entry's hash)."""
    common: dict[str, Any] = {
        "@context": contexts(base_url),
        "issuer": signer.did,
        "validFrom": format_created(at),
        "sequence": sequence,
    }
    if previous_entry is not None:
        common["previousEntry"] = previous_entry
    return common


# What a restricted credential repeats of its public one.
_SHARED = ("@context", "issuer", "validFrom", "sequence", "previousEntry")


def sign_bound(
    public: Mapping[str, Any],
    tiers: Mapping[Tier, Mapping[str, Any]],
    *,
    member: str,
    signer: Signer,
    at: datetime,
    random_bytes: Callable[[int], bytes],
) -> SignedVersion:
    """Sign one credential per restricted tier that has fields (under `credentialSubject.
    {member}`), then `public` (unsigned, without `id`) binding their digests by
    `relatedResource`."""
    shared = {key: public[key] for key in _SHARED if key in public}
    subject_id = public["credentialSubject"]["id"]
    restricted: dict[Tier, dict[str, Any]] = {}
    restricted_jcs: dict[Tier, bytes] = {}
    related: list[dict[str, str]] = []
    for tier in (Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY):
        fields = tiers.get(tier)
        if not fields:
            continue
        cred_id = uuid.UUID(bytes=random_bytes(16), version=4).urn
        unsigned = {
            **shared,
            "id": cred_id,
            "type": ["VerifiableCredential", "RestrictedPassportData"],
            "accessTier": tier.value,
            # 128 random bits stop anyone guessing the content from the public digest.
            "salt": base64.urlsafe_b64encode(random_bytes(16)).decode().rstrip("="),
            "credentialSubject": {"id": subject_id, member: dict(fields)},
        }
        signed = _signed(unsigned, signer, at)
        restricted[tier], restricted_jcs[tier] = signed.credential, signed.jcs
        digest = digest_sri(restricted_jcs[tier])
        related.append({"id": cred_id, "digestSRI": digest, "mediaType": RESTRICTED_MEDIA_TYPE})
    document = {**public, "id": uuid.UUID(bytes=random_bytes(16), version=4).urn}
    if related:
        document["relatedResource"] = related
    signed_public = _signed(document, signer, at)
    return SignedVersion(
        public=signed_public.credential,
        restricted=restricted,
        public_jcs=signed_public.jcs,
        restricted_jcs=restricted_jcs,
    )


def _signed(document: Mapping[str, Any], signer: Signer, at: datetime) -> SignedCredential:
    return sign_credential(
        document,
        private_key=signer.private_key,
        verification_method=signer.verification_method,
        created=at,
    )


def check_restricted(public: Mapping[str, Any], restricted: Mapping[str, Any]) -> None:
    """Raise SignatureInvalid unless `restricted` is bound by digest to `public`."""
    wanted = restricted.get("id")
    for entry in public.get("relatedResource", []):
        if isinstance(entry, Mapping) and entry.get("id") == wanted:
            if entry.get("digestSRI") != digest_sri(canonicalize(restricted)):
                raise SignatureInvalid(f"digest of restricted credential {wanted} does not match")
            subject = restricted.get("credentialSubject", {})
            if subject.get("id") != public.get("credentialSubject", {}).get("id"):
                raise SignatureInvalid(f"restricted credential {wanted} names another subject")
            return
    raise SignatureInvalid(f"restricted credential {wanted} is not bound to the public one")
