"""`dpp audit` worker: re-verify one range of the log, reading it from the database itself.

Each worker process opens its own connection and checks entries [start, end): contiguous
indices, canonical form, signatures with key validity by log position, that the history rows
served for those entries are the logged bytes, and that every restricted credential served
with them is bound by a digest its logged public credential carries. The parent only
schedules ranges and checks what spans them (the tree, checkpoints, chains of versions), so
the cores spend their time verifying signatures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, text

from passport.core.canonical import canonicalize, fast_path_ok, sorted_json
from passport.core.credentials import digest_sri
from passport.core.dataintegrity import verify_credential
from passport.core.errors import LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.keylog import KeyHistory
from passport.core.kinds import KEY_KINDS, EntryKind
from passport.core.merkle import leaf_hash
from passport.db import make_engine

PASSPORT_KINDS = frozenset({EntryKind.PASSPORT_ISSUED, EntryKind.PASSPORT_CORRECTED})
Failure = tuple[int, str]
ENTRIES_SQL = "SELECT idx, kind, entry FROM ledger_entry WHERE idx >= :a AND idx < :b ORDER BY idx"


@dataclass(slots=True)
class Logged:
    """What the parent needs of a logged passport credential to check its chain."""

    index: int
    previous_entry: str | None


@dataclass(slots=True)
class RangeResult:
    """What a worker found in its range; `failure` is its first bad entry, if any."""

    start: int
    leaves: list[bytes] = field(default_factory=list)
    logged: list[Logged] = field(default_factory=list)
    # (passport id, sequence, ledger index, entry hash) of each history row in the range
    served: list[tuple[str, int, int, str]] = field(default_factory=list)
    signatures: int = 0
    restricted: int = 0
    failure: Failure | None = None


@dataclass(slots=True)
class _State:
    engine: Engine
    keys: KeyHistory
    restricted_signatures: bool


_state: _State | None = None


def init_worker(url: str, keys: KeyHistory, restricted_signatures: bool) -> None:
    """Pool initializer: a connection of this process's own, and the log's key history."""
    global _state
    _state = _State(make_engine(url), keys, restricted_signatures)


def audit_range(start: int, end: int) -> RangeResult:
    """Check entries [start, end) and what is served from them."""
    if _state is None:
        raise RuntimeError("init_worker was not run in this process")
    result = RangeResult(start)
    with _state.engine.connect() as conn:
        rows = conn.execute(
            text(ENTRIES_SQL),
            {"a": start, "b": end},
        ).all()
        related: dict[int, dict[str, str]] = {}
        for index, kind, raw in rows:
            expected = start + len(result.leaves)
            if index != expected:
                result.failure = (expected, f"missing (next stored index is {index})")
                return result
            raw = bytes(raw)
            try:
                digests = _check_entry(index, kind, raw, _state.keys, result)
            except (PassportError, ValueError, KeyError, TypeError, AttributeError) as exc:
                result.failure = (index, _detail(exc))
                return result
            if digests is not None:
                related[index] = digests
            result.leaves.append(leaf_hash(raw))
        if start + len(result.leaves) != end:
            result.failure = (start + len(result.leaves), "missing (the log ends early)")
            return result
        result.failure = _check_history(conn, result, related)
        if result.failure is None:
            result.failure = _check_restricted(conn, result, related)
    return result


def _detail(exc: BaseException) -> str:
    return exc.detail if isinstance(exc, PassportError) else repr(exc)


def _check_entry(
    index: int, kind: str, raw: bytes, keys: KeyHistory, result: RangeResult
) -> dict[str, str] | None:
    """Check one entry; return the restricted digests a passport entry carries."""
    body = orjson.loads(raw)
    if type(body) is not dict or body.get("v") != 1 or body.get("kind") != kind:
        raise LedgerInconsistent("version or kind does not match its row")
    # One walk decides whether orjson's sorted bytes are JCS for the whole entry, and so for
    # every part of it the signature covers.
    fast = fast_path_ok(body)
    if (sorted_json(body) if fast else canonicalize(body)) != raw:
        raise LedgerInconsistent("not in canonical (JCS) form")
    if kind in KEY_KINDS:
        return None  # applied to the key history, in order, by the parent
    if kind not in PASSPORT_KINDS:
        raise LedgerInconsistent(f"unknown kind {kind!r}")
    credential = body["credential"]
    method = credential["proof"]["verificationMethod"]
    public = _loaded(keys.key_for(method, index=index))
    if keys.controller_of(method) != credential.get("issuer"):
        raise SignatureInvalid("the key is not controlled by the issuer")
    try:
        verify_credential(
            credential, resolve_key=lambda _m: public, canonical=sorted_json if fast else None
        )
    except PassportError as exc:
        raise SignatureInvalid(f"signature: {exc.detail}") from exc
    result.signatures += 1
    result.logged.append(Logged(index, credential.get("previousEntry")))
    return {r["digestSRI"]: r["id"] for r in credential.get("relatedResource", [])}


@functools.cache
def _loaded(raw: bytes) -> Ed25519PublicKey:
    """Load each public key once per worker, not once per signature."""
    return Ed25519PublicKey.from_public_bytes(raw)


# The served copy must be the logged bytes: the entry is JCS of {"credential", "kind", "v"}
# around the stored credential text (see `credentials.entry_bytes`), so the database rebuilds
# it and compares, instead of shipping every credential here a second time.
_SERVED = ":open || h.credential || :middle || h.kind || :close"
_SERVED_PARTS = {"open": '{"credential":', "middle": ',"kind":"', "close": '","v":1}'}
SERVED_SQL = {
    "sqlite": f"CAST({_SERVED} AS BLOB)",
    "postgresql": f"convert_to({_SERVED}, 'UTF8')",
}


def _check_history(
    conn: Any, result: RangeResult, related: dict[int, dict[str, str]]
) -> Failure | None:
    """The history rows served for these entries hold exactly the logged bytes."""
    history = conn.execute(
        text(
            "SELECT h.passport_id, h.sequence, h.ledger_index, h.entry_hash,"
            f" e.entry = {SERVED_SQL[conn.dialect.name]}"
            " FROM history_entry h JOIN ledger_entry e ON e.idx = h.ledger_index"
            " WHERE h.ledger_index >= :a AND h.ledger_index < :b"
        ),
        {"a": result.start, "b": result.start + len(result.leaves), **_SERVED_PARTS},
    ).all()
    failures = []
    for passport_id, sequence, index, entry_hash, same in history:
        where = f"passport {passport_id} sequence {sequence}"
        if index not in related:
            failures.append((index, f"{where} is served as a version but is not one in the log"))
            continue
        if not same or entry_hash != result.leaves[index - result.start].hex():
            failures.append((index, f"the served copy ({where}) differs from the log"))
        result.served.append((passport_id, sequence, index, entry_hash))
    return min(failures) if failures else None


def _check_restricted(
    conn: Any, result: RangeResult, related: dict[int, dict[str, str]]
) -> Failure | None:
    """Each restricted credential served is one its logged public credential binds by digest.

    The digest covers every byte, proof included, and the public credential's signature was
    verified: that authenticates the restricted bytes. Their own signatures are checked too
    with `--restricted-signatures`.
    """
    rows = conn.execute(
        text(
            "SELECT h.ledger_index, r.credential FROM restricted_credential r"
            " JOIN history_entry h ON h.passport_id = r.passport_id AND h.sequence = r.sequence"
            " WHERE h.ledger_index >= :a AND h.ledger_index < :b"
        ),
        {"a": result.start, "b": result.start + len(result.leaves)},
    ).all()
    bound: dict[int, set[str]] = {}
    failures = []
    for index, credential in rows:
        raw = credential.encode()
        digest = digest_sri(raw)
        digests = related.get(index, {})
        if digest not in digests:
            failures.append((index, "restricted credential: does not match a digest it logs"))
            continue
        bound.setdefault(index, set()).add(digests[digest])
        result.restricted += 1
        if _state is not None and _state.restricted_signatures:
            failure = _verify_restricted(index, raw)
            if failure:
                failures.append(failure)
    for index, digests in related.items():
        if bound.get(index, set()) != set(digests.values()):
            failures.append((index, "restricted credential: logged but not served"))
    return min(failures) if failures else None


def _verify_restricted(index: int, raw: bytes) -> Failure | None:
    """Verify a restricted credential's own signature (it is signed with its public one's key)."""
    assert _state is not None
    try:
        document = orjson.loads(raw)
        method = document["proof"]["verificationMethod"]
        public = _loaded(_state.keys.key_for(method, index=index))
        verify_credential(document, resolve_key=lambda _m: public)
    except (PassportError, ValueError, KeyError, TypeError) as exc:
        return index, f"restricted credential: {_detail(exc)}"
    return None
