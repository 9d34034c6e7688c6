"""did:web identifiers, verification methods and DID documents."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput
from passport.core.signing.dataintegrity import sign_credential, verify_credential
from passport.core.signing.did import (
    DID_CONTEXTS,
    PREFIX_SERVICE_CONTEXT,
    PrefixService,
    PublishedKey,
    did_document,
    did_web,
    signing_method,
    verification_method,
)
from passport.core.signing.ed25519 import public_key_bytes
from passport.core.signing.multibase import decode_multikey
from tests.multikey import decode_private_multikey

# The W3C vc-di-eddsa test vector key pair (TestVectors/keyPair.json): a published Multikey.
W3C_PUBLIC_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_PRIVATE_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def did_url(did: str) -> str:
    """Resolve a did:web to its document URL as the did:web spec's §3.2.2 Read says."""
    assert did.startswith("did:web:")
    host, *path = did.removeprefix("did:web:").split(":")
    location = "/".join([unquote(host), *path]) if path else unquote(host) + "/.well-known"
    return f"https://{location}/did.json"


def keys(count: int) -> list[PublishedKey]:
    """Return `count` deterministic keys, all but the last retired."""
    return [
        PublishedKey(
            key_id=f"key-{i}",
            public_key=public_key_bytes(
                Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32).public_key()
            ),
            retired=i < count - 1,
        )
        for i in range(count)
    ]


def test_the_spec_examples_resolve_as_the_spec_says() -> None:
    assert did_url("did:web:w3c-ccg.github.io") == "https://w3c-ccg.github.io/.well-known/did.json"
    assert did_url("did:web:w3c-ccg.github.io:user:alice") == (
        "https://w3c-ccg.github.io/user/alice/did.json"
    )
    assert did_url("did:web:example.com%3A3000:user:alice") == (
        "https://example.com:3000/user/alice/did.json"
    )


@pytest.mark.parametrize(
    ("base_url", "did"),
    [
        ("https://example.com:3000/user/alice", "did:web:example.com%3A3000:user:alice:orgs:acme"),
        ("https://example.com:3000/user/alice/", "did:web:example.com%3A3000:user:alice:orgs:acme"),
        ("https://w3c-ccg.github.io", "did:web:w3c-ccg.github.io:orgs:acme"),
        ("https://W3C-CCG.github.io/", "did:web:w3c-ccg.github.io:orgs:acme"),
        ("http://localhost:5000", "did:web:localhost%3A5000:orgs:acme"),
    ],
)
def test_did_web_known_answers(base_url: str, did: str) -> None:
    assert did_web(base_url, "acme") == did


@pytest.mark.parametrize("base_url", ["", "dpp.example.org", "/orgs", "https://"])
def test_a_base_url_without_host_is_refused(base_url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        did_web(base_url, "acme")
    assert info.value.errors == {"DPP_BASE_URL": ["needs a host"]}


labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=8)
slugs = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@given(
    host=st.lists(labels, min_size=1, max_size=3).map(".".join),
    port=st.none() | st.integers(1, 65535),
    path=st.lists(segments.filter(lambda s: s not in {".", ".."}), max_size=3),
    slug=slugs,
)
def test_the_did_resolves_to_the_organisations_document(
    host: str, port: int | None, path: list[str], slug: str
) -> None:
    authority = host if port is None else f"{host}:{port}"
    base_url = "/".join([f"https://{authority}", *path])
    did = did_web(base_url, slug)
    assert did_url(did) == f"{base_url}/orgs/{slug}/did.json"
    assert did_web(base_url + "/", slug) == did


@pytest.mark.parametrize("path", ["/a%20b", "/caf%C3%A9/x"])
def test_an_encoded_path_segment_is_kept_as_it_is(path: str) -> None:
    """The DID resolves to the service's own URL: escapes in the base URL are not escaped
    again (a%20b must not become a%2520b)."""
    base_url = "https://dpp.example.org" + path
    assert did_url(did_web(base_url, "acme")) == f"{base_url}/orgs/acme/did.json"


def test_verification_method_and_signing_method() -> None:
    did = "did:web:example.com%3A3000:orgs:acme"
    assert verification_method(did, "key-1") == did + "#key-1"
    assert signing_method("https://example.com:3000", "acme", "key-1") == (did, did + "#key-1")


def test_did_document_lists_the_w3c_key_as_published() -> None:
    private = Ed25519PrivateKey.from_private_bytes(decode_private_multikey(W3C_PRIVATE_MULTIBASE))
    raw = public_key_bytes(private.public_key())
    assert raw == decode_multikey(W3C_PUBLIC_MULTIBASE)
    did = "did:web:example.org:orgs:acme"
    document = did_document(did, [PublishedKey(key_id="k1", public_key=raw, retired=False)])
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": did + "#k1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": W3C_PUBLIC_MULTIBASE,
            }
        ],
        "assertionMethod": [did + "#k1"],
    }
    assert document["@context"] == DID_CONTEXTS


@given(st.integers(0, 5))
def test_every_key_current_or_retired_is_an_assertion_method(count: int) -> None:
    did = "did:web:example.org:orgs:acme"
    published = keys(count)
    document = did_document(did, published)
    methods = document["verificationMethod"]
    assert [m["id"] for m in methods] == [verification_method(did, k.key_id) for k in published]
    assert [decode_multikey(m["publicKeyMultibase"]) for m in methods] == [
        k.public_key for k in published
    ]
    assert all(m["controller"] == did and m["type"] == "Multikey" for m in methods)
    assert document["assertionMethod"] == [m["id"] for m in methods]


def test_a_credential_signed_by_a_retired_key_verifies_through_the_document() -> None:
    did, method = signing_method("https://dpp.example.org", "acme", "key-0")
    document = did_document(did, keys(2))
    assert method in document["assertionMethod"]
    by_id = {m["id"]: m["publicKeyMultibase"] for m in document["verificationMethod"]}
    signed = sign_credential(
        {"issuer": did, "credentialSubject": {"id": "urn:x"}},
        private_key=Ed25519PrivateKey.from_private_bytes(bytes(32)),
        verification_method=method,
        created=AT,
    ).credential
    verified = verify_credential(signed, resolve_key=lambda m: decode_multikey(by_id[m]))
    assert verified.verification_method == method


def test_a_revoked_key_leaves_assertion_method_but_stays_listed() -> None:
    did = "did:web:dpp.example.nl:orgs:acme"
    published = keys(3)
    revoked = PublishedKey(
        published[0].key_id, published[0].public_key, True, revoked="2025-03-01T12:00:00Z"
    )
    document = did_document(did, [revoked, *published[1:]])
    ids = [m["id"] for m in document["verificationMethod"]]
    assert len(ids) == 3
    assert document["verificationMethod"][0]["revoked"] == "2025-03-01T12:00:00Z"
    assert all("revoked" not in m for m in document["verificationMethod"][1:])
    # Retired (rotated) keys stay assertion methods; the revoked one does not.
    assert document["assertionMethod"] == ids[1:]


def test_prefixes_are_a_service_with_its_terms_defined() -> None:
    did = "did:web:dpp.example.nl:orgs:acme"
    document = did_document(
        did, keys(1), PrefixService(["8712345"], ["96385074"], "https://dpp.example.nl")
    )
    assert document["@context"][: len(DID_CONTEXTS)] == DID_CONTEXTS
    assert document["@context"][-1] == PREFIX_SERVICE_CONTEXT
    assert document["service"] == [
        {
            "id": f"{did}#gs1-prefixes",
            "type": "GS1CompanyPrefixes",
            "serviceEndpoint": "https://dpp.example.nl",
            "gs1CompanyPrefix": ["8712345"],
            "gtin8": ["96385074"],
        }
    ]
    assert "service" not in did_document(did, keys(1))
    assert did_document(did, keys(1))["@context"] == DID_CONTEXTS
