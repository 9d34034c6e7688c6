"""eddsa-jcs-2022 proofs: round trips, refusals, and any single change is detected."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput, InvalidKey, NotFound, PassportError, SignatureInvalid
from passport.core.signing.canonical import fast_path_ok
from passport.core.signing.dataintegrity import (
    VerifiedCredential,
    proof_configuration,
    sign_credential,
    signed_parts,
    unsecured_document,
    verify_credential,
)
from passport.core.signing.ed25519 import public_key_bytes
from passport.core.signing.multibase import (
    b58decode,
    b58encode,
    decode_multikey,
    decode_signature,
    encode_multikey,
    encode_signature,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = public_key_bytes(KEY.public_key())
METHOD = "did:web:example.org:orgs:acme#key-1"
AT = datetime(2025, 3, 1, 12, 30, 5, tzinfo=UTC)
DOCUMENT: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/contexts/dpp/v1"],
    "type": ["VerifiableCredential", "ProductPassportCredential"],
    "issuer": "did:web:example.org:orgs:acme",
    "credentialSubject": {
        "id": "urn:passport:acme:1",
        "sequence": 2,
        "massGrams": 812,
        "name": "Veste imperméable",
        "materials": [{"material": "polyamide", "permille": 640}],
    },
}


def resolve(method: str) -> bytes:
    if method != METHOD:
        raise NotFound(f"no key {method}")
    return PUBLIC


def sign(document: dict[str, Any]) -> dict[str, Any]:
    return sign_credential(
        document, private_key=KEY, verification_method=METHOD, created=AT
    ).credential


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_leaves,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=10,
)

Path = tuple[str | int, ...]


def _leaves(value: object, path: Path = ()) -> list[Path]:
    """List the paths of every non-empty string and every (non-bool) int."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaves(item, (*path, index))]
    if (isinstance(value, str) and value) or (isinstance(value, int) and type(value) is not bool):
        return [path]
    return []


@given(extra=json_values, data=st.data())
def test_any_single_change_is_detected(extra: object, data: st.DataObject) -> None:
    signed = sign({**DOCUMENT, "extra": extra})
    path = data.draw(st.sampled_from(_leaves(signed)))
    tampered = copy.deepcopy(signed)
    parent: Any = tampered
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    if isinstance(old, str):
        index = data.draw(st.integers(0, len(old) - 1))
        char = data.draw(st.characters().filter(lambda c: c != old[index]))
        parent[path[-1]] = old[:index] + char + old[index + 1 :]
    else:
        parent[path[-1]] = old + data.draw(st.integers(-(2**40), 2**40).filter(bool))
    # Only a changed verification method fails earlier, in the test's own key resolution.
    expected: type[PassportError] = SignatureInvalid
    if path == ("proof", "verificationMethod"):
        expected = NotFound
    with pytest.raises(PassportError) as caught:
        verify_credential(tampered, resolve_key=resolve)
    assert type(caught.value) is expected


@given(extra=json_values)
def test_round_trip(extra: object) -> None:
    document = {**DOCUMENT, "extra": extra}
    signed = sign(document)
    assert verify_credential(signed, resolve_key=resolve) == VerifiedCredential(
        document=document, verification_method=METHOD, created="2025-03-01T12:30:05Z"
    )


def test_signing_returns_a_new_document_with_the_proof_last() -> None:
    original = copy.deepcopy(DOCUMENT)
    signed = sign(DOCUMENT)
    assert original == DOCUMENT
    assert list(signed) == [*DOCUMENT, "proof"]
    assert signed["proof"]["@context"] == DOCUMENT["@context"]
    assert signed["proof"]["@context"] is not DOCUMENT["@context"]
    signed["extra"] = "x"
    assert original == DOCUMENT


@pytest.mark.parametrize("value", [1.5, [0.0], {"a": {"b": [1, 2.0]}}])
def test_floats_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="float"):
        sign({**DOCUMENT, "extra": value})


def test_naive_datetime_is_refused() -> None:
    naive = datetime(2025, 1, 1)  # noqa: DTZ001 - the naive datetime is what is under test
    with pytest.raises(InvalidInput, match="timezone"):
        sign_credential(DOCUMENT, private_key=KEY, verification_method=METHOD, created=naive)


def test_created_is_written_in_utc() -> None:
    at = datetime(2025, 3, 1, 14, 30, 5, 999, tzinfo=timezone(timedelta(hours=2)))
    signed = sign_credential(
        DOCUMENT, private_key=KEY, verification_method=METHOD, created=at
    ).credential
    assert signed["proof"]["created"] == "2025-03-01T12:30:05Z"


def test_existing_proof_is_refused() -> None:
    with pytest.raises(InvalidInput, match="already"):
        sign(sign(DOCUMENT))


@pytest.mark.parametrize(
    ("change", "step"),
    [
        (lambda d: d.pop("proof"), "proof: missing"),
        (lambda d: d.update(proof=[d["proof"]]), "proof: missing"),
        (lambda d: d["proof"].update(type="Ed25519Signature2020"), "proof type"),
        (lambda d: d["proof"].update(cryptosuite="eddsa-rdfc-2022"), "cryptosuite"),
        (lambda d: d["proof"].update(proofPurpose="authentication"), "purpose"),
        (lambda d: d["proof"].pop("created"), "created"),
        (lambda d: d["proof"].update({"@context": ["x"]}), "@context"),
        (lambda d: d.pop("@context"), "@context"),
        (lambda d: d["proof"].pop("proofValue"), "proofValue"),
        (lambda d: d["proof"].update(proofValue="u" + d["proof"]["proofValue"][1:]), "proofValue"),
        (lambda d: d["proof"].update(proofValue=d["proof"]["proofValue"][:40]), "proofValue"),
        (lambda d: d.update(extra=float("nan")), "hash data"),
        (lambda d: d.update(extra="added"), "signature"),
    ],
)
def test_each_step_names_itself(change: Any, step: str) -> None:
    signed = sign(DOCUMENT)
    change(signed)
    with pytest.raises(SignatureInvalid, match=step):
        verify_credential(signed, resolve_key=resolve)


def test_other_key_and_bad_key_bytes() -> None:
    signed = sign(DOCUMENT)
    other = public_key_bytes(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureInvalid, match="signature"):
        verify_credential(signed, resolve_key=lambda _: other)
    with pytest.raises(InvalidKey):
        verify_credential(signed, resolve_key=lambda _: PUBLIC[:31])


def test_proof_without_context_verifies_as_the_spec_allows() -> None:
    document = {key: value for key, value in DOCUMENT.items() if key != "@context"}
    signed = sign(document)
    assert "@context" not in signed["proof"]
    assert verify_credential(signed, resolve_key=resolve).document == document


def _b58_digit_by_digit(data: bytes) -> str:
    """The textbook encoding, one division per digit: the reference for the grouped one."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number, digits = int.from_bytes(data, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        digits = alphabet[rest] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@given(st.binary(max_size=130))
def test_base58_round_trip_and_reference(data: bytes) -> None:
    assert b58encode(data) == _b58_digit_by_digit(data)
    assert b58decode(b58encode(data)) == data


def test_multibase_known_answers_and_strictness() -> None:
    assert b58encode(b"\0\0\x01") == "112"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    key = encode_multikey(PUBLIC)
    assert key.startswith("z6Mk")
    assert decode_multikey(key) == PUBLIC
    for bad in ["", key[1:], "u" + key[1:], key[:-1], key + "1", key.replace(key[5], "0")]:
        with pytest.raises(InvalidKey):
            decode_multikey(bad)
    sig = KEY.sign(b"m")
    assert decode_signature(encode_signature(sig)) == sig
    with pytest.raises(SignatureInvalid):
        decode_signature("z" + "2" * 500)
    with pytest.raises(SignatureInvalid):
        encode_signature(sig[:63])


CREDENTIAL_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), CREDENTIAL_VALUES, max_size=5))
def test_signed_parts_are_what_the_reference_path_signs(extra: dict[str, object]) -> None:
    """The audit cuts the signed texts out of the stored credential: they must be the bytes the
    reference canonicalisation gives for the proof configuration and the unsecured document."""
    document = {**DOCUMENT, **{k: v for k, v in extra.items() if k != "proof"}}
    signed = sign(document)
    text = rfc8785.dumps(signed)
    parts = signed_parts(text, signed)
    if fast_path_ok(signed):
        assert parts == (
            rfc8785.dumps(proof_configuration(signed["proof"])),
            rfc8785.dumps(unsecured_document(signed)),
        )
        verify_credential(signed, resolve_key=resolve, signed=parts)


def test_signed_parts_refuse_a_text_that_is_not_canonical() -> None:
    signed = sign(DOCUMENT)
    text = rfc8785.dumps(signed)
    assert signed_parts(text, signed) is not None
    spaced = text.replace(b'":', b'": ', 1)
    assert signed_parts(spaced, orjson.loads(spaced)) is None
    reordered = orjson.dumps(signed)  # insertion order, not sorted
    if reordered != text:
        assert signed_parts(reordered, orjson.loads(reordered)) is None
    unsigned = {**signed, "proof": {k: v for k, v in signed["proof"].items() if k != "proofValue"}}
    assert signed_parts(rfc8785.dumps(unsigned), unsigned) is None
