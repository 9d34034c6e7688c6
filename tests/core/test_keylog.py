"""Key validity by log position: registration before use, nothing after retirement or compromise."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.errors import LedgerInconsistent, SignatureInvalid
from passport.core.log.keylog import KeyHistory, key_entry
from passport.core.log.kinds import EntryKind

DID = "did:web:dpp.example.nl:orgs:maker"
METHOD = f"{DID}#key-1"
PUBLIC = Ed25519PrivateKey.generate().public_key().public_bytes_raw()


def apply(history: KeyHistory, index: int, kind: EntryKind, **extra: int) -> None:
    body = json.loads(key_entry(kind, method=METHOD, controller=DID, public_key=PUBLIC, **extra))
    assert body["v"] == 1
    history.apply(index, body["kind"], body["key"])


def test_valid_only_after_registration() -> None:
    history = KeyHistory()
    apply(history, 5, EntryKind.KEY_REGISTERED)
    for index in (0, 5):
        with pytest.raises(SignatureInvalid):
            history.key_for(METHOD, index=index)
    assert history.key_for(METHOD, index=6) == PUBLIC
    assert history.controller_of(METHOD) == DID


def test_retirement_ends_validity_but_keeps_the_past() -> None:
    history = KeyHistory()
    apply(history, 1, EntryKind.KEY_REGISTERED)
    apply(history, 10, EntryKind.KEY_RETIRED)
    assert history.key_for(METHOD, index=9) == PUBLIC
    with pytest.raises(SignatureInvalid):
        history.key_for(METHOD, index=11)


def test_compromise_voids_signatures_from_then_on() -> None:
    history = KeyHistory()
    apply(history, 1, EntryKind.KEY_REGISTERED)
    apply(history, 20, EntryKind.KEY_REVOKED, compromised_since=8)
    assert history.key_for(METHOD, index=7) == PUBLIC
    for index in (8, 15, 21):
        with pytest.raises(SignatureInvalid):
            history.key_for(METHOD, index=index)


def test_unknown_and_doubly_registered_keys() -> None:
    history = KeyHistory()
    with pytest.raises(SignatureInvalid):
        history.key_for(METHOD, index=3)
    with pytest.raises(LedgerInconsistent):
        apply(history, 2, EntryKind.KEY_RETIRED)
    apply(history, 3, EntryKind.KEY_REGISTERED)
    with pytest.raises(LedgerInconsistent):
        apply(history, 4, EntryKind.KEY_REGISTERED)
