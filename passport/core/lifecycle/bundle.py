"""Offline verification of a passport bundle with nothing but the pinned log key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from passport.core.errors import LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.lifecycle.chain import (
    LoggedEntry,
    check_chain,
    check_links,
    check_materials,
    subject_of,
)
from passport.core.lifecycle.states import Lifecycle
from passport.core.log.keylog import KeyHistory, logged_did_document
from passport.core.log.kinds import KEY_KINDS, PASSPORT_KINDS, EntryKind, is_history
from passport.core.log.merkle import leaf_hash, verify_inclusion
from passport.core.log.note import open_checkpoint, parse_verifier_key
from passport.core.product.credentials import check_restricted
from passport.core.signing.canonical import canonicalize
from passport.core.signing.dataintegrity import verify_credential

BUNDLE_FORMAT = "dpp-ledger-bundle/v1"


class BundleInvalid(PassportError):
    """A bundle failed one of the auditor's steps; `step` names it."""

    code = "bundle-invalid"
    title = "Bundle does not verify"

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step


@dataclass(frozen=True, slots=True)
class VerifiedHistory:
    """What a verified bundle establishes about one passport: its versions and events in
    history order, and the lifecycle state they lead to."""

    passport: str
    tree_size: int
    root_hash: bytes
    history: tuple[LoggedEntry, ...]
    restricted_tiers: frozenset[str]
    state: Lifecycle

    @property
    def versions(self) -> tuple[LoggedEntry, ...]:
        """The passport's versions (issuance and corrections)."""
        return tuple(e for e in self.history if e.kind in PASSPORT_KINDS)

    @property
    def events(self) -> tuple[LoggedEntry, ...]:
        """The passport's lifecycle events."""
        return tuple(e for e in self.history if e.kind not in PASSPORT_KINDS)


def _step(name: str) -> Any:
    """Translate any domain error raised inside a step into BundleInvalid naming the step."""

    class _Guard:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: Any, _tb: Any) -> Literal[False]:
            if exc is None or isinstance(exc, BundleInvalid):
                return False
            if isinstance(exc, PassportError):
                raise BundleInvalid(name, exc.detail) from exc
            if isinstance(exc, KeyError | TypeError | ValueError | binascii.Error):
                raise BundleInvalid(name, f"malformed bundle ({exc!r})") from exc
            return False

    return _Guard()


BUNDLE_KEYS = {"format", "passport", "log", "checkpoint", "entries", "restricted", "did_documents"}


def _exact_keys(item: Any, keys: set[str], what: str) -> None:
    if not isinstance(item, Mapping) or set(item) != keys:
        raise LedgerInconsistent(f"{what} must have exactly the members {sorted(keys)}")


def _b64(text: Any) -> bytes:
    """Decode canonical standard base64 (re-encoding must give the same text)."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise LedgerInconsistent("hash is not canonical base64")
    return raw


def _entries(bundle: Mapping[str, Any], size: int, root: bytes) -> list[LoggedEntry]:
    found: dict[int, LoggedEntry] = {}
    for item in bundle["entries"]:
        _exact_keys(item, {"index", "entry", "proof"}, "an entry")
        index, text = item["index"], item["entry"]
        if type(index) is not int or not isinstance(text, str) or index in found:
            raise LedgerInconsistent(f"entry {index!r}: malformed or repeated")
        raw = text.encode()
        proof = [_b64(h) for h in item["proof"]]
        digest = leaf_hash(raw)
        verify_inclusion(index=index, size=size, leaf_hash=digest, proof=proof, root=root)
        body = json.loads(raw)
        if canonicalize(body) != raw:
            raise LedgerInconsistent(f"entry {index}: not in canonical (JCS) form")
        if body.get("v") != 1 or not isinstance(body.get("kind"), str):
            raise LedgerInconsistent(f"entry {index}: unknown entry version or kind")
        found[index] = LoggedEntry(index, body["kind"], body, digest)
    return [found[i] for i in sorted(found)]


def verify_bundle_bytes(raw: bytes, *, log_key: str) -> VerifiedHistory:
    """Verify a bundle file: it must be exactly its JCS form, so no byte can change unnoticed."""
    with _step("1 bundle format"):
        try:
            bundle = json.loads(raw)
        except ValueError as exc:
            raise LedgerInconsistent(f"not JSON ({exc})") from None
        if not isinstance(bundle, dict):
            raise LedgerInconsistent("not a JSON object")
        if canonicalize(bundle) != raw:
            raise LedgerInconsistent("not in canonical (JCS) form, as the service serves it")
    return verify_bundle(bundle, log_key=log_key)


def verify_bundle(bundle: Mapping[str, Any], *, log_key: str) -> VerifiedHistory:
    """Run the auditor's steps on `bundle`; return the verified history or name the failing step."""
    with _step("1 bundle format"):
        _exact_keys(bundle, BUNDLE_KEYS, "a bundle")
        if bundle["format"] != BUNDLE_FORMAT:
            raise LedgerInconsistent(f"expected format {BUNDLE_FORMAT!r}")
        passport = bundle["passport"]
    with _step("2 checkpoint signature"):
        name, public_key = parse_verifier_key(log_key)
        checkpoint = open_checkpoint(
            bundle["checkpoint"].encode(), name=name, public_key=public_key
        )
        if bundle["log"] != {"origin": name, "verifier_key": log_key}:
            raise SignatureInvalid("the bundle names another log than the pinned key")
    with _step("3 inclusion and canonical form of each entry"):
        entries = _entries(bundle, checkpoint.size, checkpoint.root_hash)
    keys = KeyHistory()
    with _step("4 key registrations"):
        for entry in entries:
            if entry.kind in KEY_KINDS:
                keys.apply(entry.index, entry.kind, entry.body["key"])
    logged = [e for e in entries if is_history(e.kind)]
    history = tuple(e for e in logged if subject_of(e) == passport)
    linked = tuple(e for e in logged if subject_of(e) != passport)
    lots = tuple(e for e in entries if e.kind == EntryKind.LOT_PRODUCED)
    with _step("5 credential signatures and key validity by log position"):
        for entry in (*logged, *lots):
            _verify_signed(entry.body["credential"], keys, entry.index)
    with _step("6 restricted credentials against the logged digests"):
        by_index = {e.index: e for e in history}
        tiers = set()
        for item in bundle["restricted"]:
            _exact_keys(item, {"index", "tier", "credential"}, "a restricted credential")
            if item["tier"] != item["credential"].get("accessTier"):
                raise SignatureInvalid(f"entry {item['index']}: tier label does not match")
            public = by_index[item["index"]].body["credential"]
            check_restricted(public, item["credential"])
            _verify_signed(item["credential"], keys, item["index"])
            tiers.add(str(item["credential"].get("accessTier")))
    with _step("7 chain of versions and events"):
        state = check_chain(passport, history)
    with _step("8 lot balances and recycling outputs"):
        claimants = check_materials(passport, history, linked, lots)
    with _step("9 links to the predecessor and successors"):
        check_links(passport, history, linked, claimants)
    with _step("10 DID documents against the logged keys"):
        _check_documents(bundle["did_documents"], entries, (*history, *linked, *lots))
    return VerifiedHistory(
        passport=passport,
        tree_size=checkpoint.size,
        root_hash=checkpoint.root_hash,
        history=history,
        restricted_tiers=frozenset(tiers),
        state=state,
    )


def _verify_signed(credential: Mapping[str, Any], keys: KeyHistory, index: int) -> None:
    verified = verify_credential(credential, resolve_key=lambda m: keys.key_for(m, index=index))
    if keys.controller_of(verified.verification_method) != credential.get("issuer"):
        raise SignatureInvalid(f"entry {index}: the key is not controlled by the issuer")


def _check_documents(
    documents: Any, entries: list[LoggedEntry], history: tuple[LoggedEntry, ...]
) -> None:
    """Each issuer's DID document lists exactly the keys the log registered for it."""
    issuers = {e.body["credential"]["issuer"] for e in history}
    if not isinstance(documents, Mapping) or set(documents) != issuers:
        raise LedgerInconsistent("the bundle must hold one DID document per issuer")
    for did, document in documents.items():
        registered = [e.body["key"] for e in entries if e.kind == EntryKind.KEY_REGISTERED]
        if document != logged_did_document(did, registered):
            raise LedgerInconsistent(f"the DID document of {did} differs from the logged keys")
