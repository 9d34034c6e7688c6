"""Passport-version credentials: signing per tier, digest binding, any single change detected."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput, NotFound, PassportError, SignatureInvalid
from passport.core.product.access import Tier
from passport.core.product.credentials import (
    RESTRICTED_MEDIA_TYPE,
    SignedVersion,
    Signer,
    VersionClaim,
    check_restricted,
    contexts,
    digest_sri,
    sign_version,
)
from passport.core.signing.dataintegrity import verify_credential
from passport.core.signing.ed25519 import public_key_bytes

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DID = "did:web:dpp.example.org:orgs:acme"
METHOD = DID + "#key-1"
SIGNER = Signer(did=DID, verification_method=METHOD, private_key=KEY)
BASE_URL = "https://dpp.example.org"
AT = datetime(2025, 3, 1, 14, 30, 5, tzinfo=timezone(timedelta(hours=2)))
SUBJECT = "https://dpp.example.org/01/09506000134352/21/ABC"
TIERS: dict[Tier, dict[str, Any]] = {
    Tier.PUBLIC: {"name": "Veste", "massGrams": 812},
    Tier.LEGITIMATE_INTEREST: {"repairGuide": "urn:doc:1"},
    Tier.AUTHORITY: {"supplier": "Acme BV", "recycledPermille": 250},
}

field_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=8,
)
tier_fields = st.dictionaries(st.text(min_size=1, max_size=6), field_values, max_size=3)


def counter_bytes() -> Callable[[int], bytes]:
    """Return a random_bytes stand-in that hands out 0x01…, 0x02…, … blocks in turn."""
    calls = iter(range(1, 256))
    return lambda n: bytes([next(calls)]) * n


def resolve(method: str) -> bytes:
    """Resolve the signer's one verification method."""
    if method != METHOD:
        raise NotFound(f"no key {method}")
    return public_key_bytes(KEY.public_key())


def claim(tiers: Mapping[Tier, Mapping[str, Any]] = TIERS, **changes: Any) -> VersionClaim:
    """Return a version claim with the test's defaults."""
    fields: dict[str, Any] = {
        "subject_id": SUBJECT,
        "category": "textile",
        "granularity": "item",
        "sequence": 2,
        "previous_entry": "sha256-prev",
        "supersedes": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "tiers": tiers,
        **changes,
    }
    return VersionClaim(**fields)


def sign(version: VersionClaim | None = None) -> SignedVersion:
    """Sign a claim with a deterministic source of randomness."""
    return sign_version(
        version or claim(), signer=SIGNER, base_url=BASE_URL, at=AT, random_bytes=counter_bytes()
    )


def flip_one_byte(data: bytes, index: int, replacement: int) -> Any:
    """Return the JSON read from `data` with one byte replaced, or None if it is no longer JSON."""
    changed = data[:index] + bytes([replacement]) + data[index + 1 :]
    try:
        return json.loads(changed)
    except ValueError:  # includes UnicodeDecodeError: a change that cannot even be read
        return None


def test_digest_sri_known_answers() -> None:
    assert digest_sri(b"") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert digest_sri(b"abc") == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="


@given(st.binary(max_size=200))
def test_digest_sri_is_sha256_in_standard_base64(data: bytes) -> None:
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    assert digest_sri(data) == "sha256-" + expected


def test_signed_version_known_structure() -> None:
    signed = sign()
    ctx = ["https://www.w3.org/ns/credentials/v2", "https://dpp.example.org/contexts/dpp/v1"]
    assert contexts(BASE_URL) == ctx
    # Random bytes are drawn in this order: per restricted tier its id then its salt, then the
    # public id.
    ids = [str(uuid.UUID(bytes=bytes([n]) * 16, version=4).urn) for n in (1, 3, 5)]
    assert ids[0] == "urn:uuid:01010101-0101-4101-8101-010101010101"
    legitimate, authority = (
        signed.restricted[Tier.LEGITIMATE_INTEREST],
        signed.restricted[Tier.AUTHORITY],
    )
    assert set(signed.restricted) == {Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY}
    assert {key: value for key, value in legitimate.items() if key != "proof"} == {
        "@context": ctx,
        "id": ids[0],
        "type": ["VerifiableCredential", "RestrictedPassportData"],
        "issuer": DID,
        "validFrom": "2025-03-01T12:30:05Z",
        "accessTier": "legitimate_interest",
        "salt": "AgICAgICAgICAgICAgICAg",
        "sequence": 2,
        "previousEntry": "sha256-prev",
        "credentialSubject": {"id": SUBJECT, "product": {"repairGuide": "urn:doc:1"}},
    }
    assert authority["id"] == ids[1]
    assert authority["accessTier"] == "authority"
    assert authority["salt"] == base64.urlsafe_b64encode(b"\x04" * 16).decode().rstrip("=")
    public = signed.public
    assert {key: value for key, value in public.items() if key != "proof"} == {
        "@context": ctx,
        "id": ids[2],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": DID,
        "validFrom": "2025-03-01T12:30:05Z",
        "sequence": 2,
        "previousEntry": "sha256-prev",
        "credentialSubject": {
            "id": SUBJECT,
            "type": "Product",
            "category": "textile",
            "granularity": "item",
            "product": {"name": "Veste", "massGrams": 812},
        },
        "supersedes": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "relatedResource": [
            {
                "id": credential["id"],
                # Computed independently: rfc8785 for the bytes, hashlib and base64 for the SRI.
                "digestSRI": "sha256-"
                + base64.b64encode(hashlib.sha256(rfc8785.dumps(credential)).digest()).decode(),
                "mediaType": RESTRICTED_MEDIA_TYPE,
            }
            for credential in (legitimate, authority)
        ],
    }
    for credential in (public, legitimate, authority):
        assert credential["proof"]["created"] == "2025-03-01T12:30:05Z"
        assert credential["proof"]["verificationMethod"] == METHOD
    assert signed.public_jcs == rfc8785.dumps(public)
    assert signed.restricted_jcs == {t: rfc8785.dumps(c) for t, c in signed.restricted.items()}


def test_a_first_public_only_version_binds_nothing() -> None:
    signed = sign(claim({Tier.PUBLIC: {"name": "Veste"}}, previous_entry=None, supersedes=None))
    assert signed.restricted == {}
    assert signed.restricted_jcs == {}
    assert "relatedResource" not in signed.public
    assert "previousEntry" not in signed.public
    assert "supersedes" not in signed.public
    assert signed.public["credentialSubject"]["product"] == {"name": "Veste"}
    empty = sign(claim({Tier.AUTHORITY: {}}))
    assert empty.restricted == {}
    assert empty.public["credentialSubject"]["product"] == {}


def test_a_naive_datetime_is_refused() -> None:
    naive = datetime(2025, 3, 1, 12, 0)  # noqa: DTZ001 - the naive datetime is what is under test
    with pytest.raises(InvalidInput):
        sign_version(claim(), signer=SIGNER, base_url=BASE_URL, at=naive, random_bytes=bytes)


@given(
    public=tier_fields,
    legitimate=tier_fields,
    authority=tier_fields,
    previous=st.none() | st.text(max_size=8),
)
def test_round_trip(
    public: dict[str, Any],
    legitimate: dict[str, Any],
    authority: dict[str, Any],
    previous: str | None,
) -> None:
    tiers = {Tier.PUBLIC: public, Tier.LEGITIMATE_INTEREST: legitimate, Tier.AUTHORITY: authority}
    signed = sign(claim(tiers, previous_entry=previous))
    verified = verify_credential(signed.public, resolve_key=resolve)
    assert verified.document["credentialSubject"]["product"] == public
    assert set(signed.restricted) == {t for t in tiers if t is not Tier.PUBLIC and tiers[t]}
    for tier, credential in signed.restricted.items():
        document = verify_credential(credential, resolve_key=resolve).document
        assert document["credentialSubject"]["product"] == tiers[tier]
        check_restricted(signed.public, credential)
        check_restricted(json.loads(signed.public_jcs), json.loads(signed.restricted_jcs[tier]))


@given(data=st.data())
def test_any_single_byte_change_of_the_public_credential_fails_verification(
    data: st.DataObject,
) -> None:
    original = sign().public_jcs
    index = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != original[index]))
    tampered = flip_one_byte(original, index, replacement)
    if tampered is None:
        return  # no longer JSON: nothing to verify
    with pytest.raises(PassportError) as caught:
        verify_credential(tampered, resolve_key=resolve)
    assert isinstance(caught.value, SignatureInvalid | NotFound | InvalidInput)


@given(tier=st.sampled_from([Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY]), data=st.data())
def test_any_single_byte_change_of_a_restricted_credential_is_refused(
    tier: Tier, data: st.DataObject
) -> None:
    signed = sign()
    original = signed.restricted_jcs[tier]
    # Letters and digits only, so that most changes still read as JSON and reach the check.
    positions = [i for i, b in enumerate(original) if chr(b).isalnum()]
    index = data.draw(st.sampled_from(positions))
    alnum = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    replacement = data.draw(st.sampled_from(alnum).filter(lambda b: b != original[index]))
    tampered = flip_one_byte(original, index, replacement)
    if tampered is None:
        return  # e.g. `true` became `trUe`: no longer JSON
    if not isinstance(tampered, dict):
        return
    with pytest.raises(SignatureInvalid):
        check_restricted(signed.public, tampered)


def test_a_restricted_credential_of_another_version_is_refused() -> None:
    first = sign()
    second = sign(claim(sequence=3))
    check_restricted(first.public, first.restricted[Tier.AUTHORITY])
    with pytest.raises(SignatureInvalid, match="does not match"):
        check_restricted(first.public, second.restricted[Tier.AUTHORITY])  # same id, new digest
    other = sign_version(
        claim(),
        signer=SIGNER,
        base_url=BASE_URL,
        at=AT,
        random_bytes=lambda n: b"\x99" * n,
    )
    with pytest.raises(SignatureInvalid, match="not bound"):
        check_restricted(first.public, other.restricted[Tier.AUTHORITY])
    public_only = sign(claim({Tier.PUBLIC: {"name": "Veste"}}))
    with pytest.raises(SignatureInvalid, match="not bound"):
        check_restricted(public_only.public, first.restricted[Tier.AUTHORITY])


def test_a_digest_bound_credential_naming_another_subject_is_refused() -> None:
    signed = sign()
    restricted = dict(signed.restricted[Tier.AUTHORITY])
    restricted["credentialSubject"] = {"id": "urn:other", "product": {}}
    public = dict(signed.public)
    public["relatedResource"] = [
        {"id": restricted["id"], "digestSRI": digest_sri(rfc8785.dumps(restricted))}
    ]
    with pytest.raises(SignatureInvalid, match="another subject"):
        check_restricted(public, restricted)
