"""did:web identifiers of organisations and their DID documents (Multikey, Ed25519)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from passport.core.errors import InvalidInput
from passport.core.signing.multibase import encode_multikey

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
_VOCAB = "https://schemas.dpp-ledger.eu/vocab#"
# The terms of the GS1 prefix service, defined inline so JSON-LD expansion drops none of them.
PREFIX_SERVICE_CONTEXT = {
    term: f"{_VOCAB}{term}" for term in ("GS1CompanyPrefixes", "gs1CompanyPrefix", "gtin8")
}


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A public key as the DID document lists it."""

    key_id: str
    public_key: bytes
    retired: bool
    # When the key was revoked (`dpp key revoke`), as an XML Schema dateTime: a revoked key is
    # listed with `revoked` (W3C Controlled Identifiers 1.0) and is no assertion method.
    revoked: str | None = None


@dataclass(frozen=True, slots=True)
class PrefixService:
    """The GS1 prefixes an organisation issues under, published in its DID document."""

    company_prefixes: Sequence[str]
    gtin8s: Sequence[str]
    resolver: str  # the base URL its passports' Digital Link URIs resolve at


# RFC 3986 pchar without ':', and '%' so that existing escapes are kept.
_PATH_SAFE = "!$&'()*+,;=@%-._~"


def did_web(base_url: str, slug: str) -> str:
    """Return `did:web:{host}[%3A{port}][:{path}]:orgs:{slug}` for the service at `base_url`."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise InvalidInput("base URL has no host", errors={"DPP_BASE_URL": ["needs a host"]})
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    segments = [quote(host, safe="")]
    # Path segments of a URL are percent-encoded already: kept as they are (a%20b stays
    # a%20b), with only ':' (which separates them in the DID) and characters a path may not
    # hold encoded.
    segments += [quote(s, safe=_PATH_SAFE) for s in parts.path.split("/") if s]
    segments += ["orgs", slug]
    return "did:web:" + ":".join(segments)


def verification_method(did: str, key_id: str) -> str:
    """Return the absolute id of key `key_id` in the DID document of `did`."""
    return f"{did}#{key_id}"


def did_document(
    did: str, keys: Sequence[PublishedKey], prefixes: PrefixService | None = None
) -> dict[str, Any]:
    """Return the DID document listing every key, and the GS1 prefixes if given.

    Retired keys stay assertion methods: signatures made while they were current must verify.
    A revoked key (it may be in other hands) stays a verification method marked `revoked`
    and leaves `assertionMethod`, so a verifier reading only this document refuses anything
    it signs; what it signed before the compromise is checked through the log (key validity
    by log position).

    `prefixes` adds a `service` entry of type `GS1CompanyPrefixes` naming the company
    prefixes (`gs1CompanyPrefix`) and whole GTIN-8s (`gtin8`) the organisation issues
    passports under, its terms defined inline in `@context`.
    """
    methods: list[dict[str, Any]] = []
    for key in keys:
        method: dict[str, Any] = {
            "id": verification_method(did, key.key_id),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": encode_multikey(key.public_key),
        }
        if key.revoked is not None:
            method["revoked"] = key.revoked
        methods.append(method)
    document: dict[str, Any] = {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods if "revoked" not in m],
    }
    if prefixes is not None:
        document["@context"].append(PREFIX_SERVICE_CONTEXT)
        document["service"] = [
            {
                "id": f"{did}#gs1-prefixes",
                "type": "GS1CompanyPrefixes",
                "serviceEndpoint": prefixes.resolver,
                "gs1CompanyPrefix": list(prefixes.company_prefixes),
                "gtin8": list(prefixes.gtin8s),
            }
        ]
    return document


def signing_method(base_url: str, slug: str, key_id: str) -> tuple[str, str]:
    """Return the DID and verification method id for `slug`'s key `key_id`."""
    did = did_web(base_url, slug)
    return did, verification_method(did, key_id)
