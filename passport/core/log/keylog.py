"""Key entries of the ledger and key validity by log position, not by wall clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from passport.core.errors import LedgerInconsistent, SignatureInvalid
from passport.core.log.kinds import EntryKind
from passport.core.signing.canonical import canonicalize
from passport.core.signing.did import PublishedKey, did_document
from passport.core.signing.multibase import decode_multikey, encode_multikey


def logged_did_document(did: str, registered: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Return `did`'s DID document as the log's key registrations (`key` objects) state it."""
    keys = [
        PublishedKey(key["id"].split("#", 1)[1], decode_multikey(key["publicKeyMultibase"]), False)
        for key in registered
        if key["controller"] == did
    ]
    return did_document(did, keys)


def key_entry(
    kind: EntryKind,
    *,
    method: str,
    controller: str,
    public_key: bytes,
    compromised_since: int | None = None,
) -> bytes:
    """Return the ledger entry bytes registering, retiring or revoking a key."""
    key: dict[str, Any] = {
        "id": method,
        "controller": controller,
        "publicKeyMultibase": encode_multikey(public_key),
    }
    if compromised_since is not None:
        # Signatures logged at or after this index are invalid even if logged before the
        # revocation itself: the key was in other hands from then on.
        key["compromisedSince"] = compromised_since
    return canonicalize({"v": 1, "kind": kind.value, "key": key})


@dataclass
class _KeyState:
    public_key: bytes
    controller: str
    registered: int
    ended: int | None = None  # retirement or revocation index
    compromised_since: int | None = None
    revoked_at: int | None = None  # the revocation entry's index


@dataclass
class KeyHistory:
    """Keys as the log records them; answers which key may sign an entry at an index."""

    _keys: dict[str, _KeyState] = field(default_factory=dict)

    def apply(self, index: int, kind: str, key: Mapping[str, Any]) -> None:
        """Take in the key entry logged at `index`."""
        method = key.get("id")
        if not isinstance(method, str):
            raise LedgerInconsistent(f"entry {index}: key entry without id")
        raw = decode_multikey(str(key.get("publicKeyMultibase", "")))
        if kind == EntryKind.KEY_REGISTERED:
            if method in self._keys:
                raise LedgerInconsistent(f"entry {index}: key {method} registered twice")
            self._keys[method] = _KeyState(raw, str(key.get("controller")), index)
            return
        state = self._keys.get(method)
        if state is None or state.public_key != raw:
            raise LedgerInconsistent(f"entry {index}: {kind} of a key never registered")
        if state.ended is None:
            state.ended = index
        if kind == EntryKind.KEY_REVOKED:
            state.revoked_at = index if state.revoked_at is None else state.revoked_at
            since = key.get("compromisedSince")
            state.compromised_since = since if isinstance(since, int) else index

    def key_for(self, method: str, *, index: int) -> bytes:
        """Return the key `method` if it may sign the entry at `index`; else raise."""
        state = self._keys.get(method)
        if state is None:
            raise SignatureInvalid(f"entry {index}: key {method} is not registered in the log")
        if state.registered >= index:
            raise SignatureInvalid(
                f"entry {index}: key {method} registered later ({state.registered})"
            )
        if state.ended is not None and state.ended < index:
            raise SignatureInvalid(
                f"entry {index}: key {method} retired or revoked at {state.ended}"
            )
        if state.compromised_since is not None and state.compromised_since <= index:
            raise SignatureInvalid(
                f"entry {index}: key {method} compromised since {state.compromised_since}"
            )
        return state.public_key

    def public_key_of(self, method: str) -> bytes | None:
        """Return the registered public key of `method`, whatever its validity."""
        state = self._keys.get(method)
        return state.public_key if state else None

    def revocation_of(self, method: str) -> int | None:
        """Return the index of the entry that revoked `method`, if one did."""
        state = self._keys.get(method)
        return state.revoked_at if state else None

    def controller_of(self, method: str) -> str | None:
        """Return the DID that controls `method`, if it is registered."""
        state = self._keys.get(method)
        return state.controller if state else None
