"""did:web identifiers of organisations and their DID documents (Multikey, Ed25519)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from passport.core.errors import InvalidInput
from passport.core.signing.multibase import encode_multikey

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A public key as the DID document lists it."""

    key_id: str
    public_key: bytes
    retired: bool


def did_web(base_url: str, slug: str) -> str:
    """Return `did:web:{host}[%3A{port}][:{path}]:orgs:{slug}` for the service at `base_url`."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise InvalidInput("base URL has no host", errors={"DPP_BASE_URL": ["needs a host"]})
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    segments = [quote(host, safe="")]
    segments += [quote(s, safe="") for s in parts.path.split("/") if s]
    segments += ["orgs", slug]
    return "did:web:" + ":".join(segments)


def verification_method(did: str, key_id: str) -> str:
    """Return the absolute id of key `key_id` in the DID document of `did`."""
    return f"{did}#{key_id}"


def did_document(did: str, keys: Sequence[PublishedKey]) -> dict[str, Any]:
    """Return the DID document listing every key, current and retired, for assertions."""
    methods = [
        {
            "id": verification_method(did, key.key_id),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": encode_multikey(key.public_key),
        }
        for key in keys
    ]
    # Retired keys stay assertion methods: signatures made while they were current must verify.
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def signing_method(base_url: str, slug: str, key_id: str) -> tuple[str, str]:
    """Return the DID and verification method id for `slug`'s key `key_id`."""
    did = did_web(base_url, slug)
    return did, verification_method(did, key_id)
