"""`dpp audit` worker: re-verify one aligned range of the log, reading the database itself.

Each worker process opens its own connection and checks the entries [start, end) of a range
of RANGE entries aligned on a multiple of RANGE: contiguous indices, canonical form, every
signature with key validity by log position, the stored leaf hashes and the tiles inside the
range, that the history rows served for those entries are the logged bytes and chain
correctly to the versions before them, and that every restricted credential served with
them is bound by a digest its logged public credential carries. It returns only the range's
root and the hashes the parent needs for checkpoint roots, so the parent's memory stays
O(n / RANGE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from passport.core.errors import LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.lifecycle.credentials import event_of
from passport.core.lifecycle.lots import lot_of
from passport.core.lifecycle.status import index_of
from passport.core.lifecycle.vocabulary import EventKind, entry_kind, event_kind
from passport.core.log.keylog import KeyHistory
from passport.core.log.kinds import KEY_KINDS, EntryKind, credential_of, is_history
from passport.core.log.merkle import leaf_hash, node_hash
from passport.core.log.tiles import HEIGHT, width_at
from passport.core.signing.canonical import canonicalize, fast_path_ok
from passport.core.signing.dataintegrity import signed_parts, verify_credential
from passport.services.ledger.audit.served import (
    Failure,
    Logged,
    check_history,
    check_restricted,
    detail,
    loaded_key,
)
from passport.services.ledger.audit.tree import compare_tiles
from passport.store.sql import driver_query, make_engine, stored_bytes

REMANUFACTURED = entry_kind(EventKind.REMANUFACTURE)
RANGE_LEVEL = 2 * HEIGHT
# Entries per task: a perfect subtree, so ranges hash on their own, and the bottom of a tile
# level, so the tiles of levels 0 and 1 lie wholly inside one range each.
RANGE = 1 << RANGE_LEVEL
ENTRIES_SQL = (
    "SELECT idx, kind, entry, leaf_hash FROM ledger_entry WHERE idx >= ? AND idx < ? ORDER BY idx"
)


@dataclass(slots=True)
class RangeResult:
    """What a worker found in its range; `failure` is its first bad entry, if any."""

    start: int
    end: int
    root: bytes | None = None  # the hash of a full range (a level-9 perfect subtree)
    # For each checkpoint size s inside the range: the perfect subtrees of [start, s).
    cuts: dict[int, list[bytes]] = field(default_factory=dict)
    signatures: int = 0
    restricted: int = 0
    # Remanufacture links, (predecessor URI, successor URI) → index: as remanufacture events
    # state them, and as the successors' first versions do.
    successors: dict[tuple[str, str], int] = field(default_factory=dict)
    predecessors: dict[tuple[str, str], int] = field(default_factory=dict)
    failure: Failure | None = None  # an entry, or what is served from it, is wrong
    tree_failure: Failure | None = None  # a stored node hash is wrong (reported after entries)


@dataclass(slots=True)
class _State:
    engine: Engine
    keys: KeyHistory
    restricted_signatures: bool
    base_url: str


_state: _State | None = None


def init_worker(url: str, keys: KeyHistory, restricted_signatures: bool, base_url: str) -> None:
    """Pool initializer: a connection of this process's own, the log's key history, and the
    base URL its passports' Digital Link URIs are made of."""
    global _state
    _state = _State(make_engine(url), keys, restricted_signatures, base_url.rstrip("/"))


def audit_task(task: tuple[int, int, tuple[int, ...]]) -> RangeResult:
    """`audit_range` for a pool: (start, end, checkpoint sizes inside the range)."""
    return audit_range(*task)


def audit_range(start: int, end: int, cut_sizes: tuple[int, ...] = ()) -> RangeResult:
    """Check entries [start, end) and what is served from them."""
    if _state is None:
        raise RuntimeError("init_worker was not run in this process")
    result = RangeResult(start, end)
    # One read transaction: the range's entries, nodes and served rows come from one snapshot.
    with _state.engine.connect() as conn, conn.begin():
        # Through the driver: SQLAlchemy's row processing would cost more than the checks.
        rows = driver_query(conn, ENTRIES_SQL, (start, end))
        leaves: list[bytes] = []
        logged: dict[int, Logged] = {}
        wrong_leaf: Failure | None = None
        for index, kind, raw, stored_leaf in rows:
            expected = start + len(leaves)
            if index != expected:
                result.failure = (expected, f"missing (next stored index is {index})")
                return result
            if not isinstance(raw, bytes | memoryview):
                result.failure = (index, "its stored entry is not bytes (BLOB)")
                return result
            raw = bytes(raw)
            try:
                found = _check_entry(index, kind, raw, _state.keys, result)
            except (PassportError, ValueError, KeyError, TypeError, AttributeError) as exc:
                result.failure = (index, detail(exc))
                return result
            if found is not None:
                logged[index] = found
            leaves.append(leaf_hash(raw))
            if wrong_leaf is None and stored_bytes(stored_leaf) != leaves[-1]:
                wrong_leaf = (index, "its stored leaf hash does not match it")
        if start + len(leaves) != end:
            result.failure = (start + len(leaves), "missing (the log ends early)")
            return result
        levels = _levels(leaves)
        restricted_failure, result.restricted = check_restricted(
            conn, start, end, logged, _state.keys if _state.restricted_signatures else None
        )
        served = [
            check_history(conn, start, end, levels[0], logged, _state.base_url),
            restricted_failure,
        ]
        result.failure = min((f for f in served if f is not None), default=None)
        tree = [wrong_leaf, _check_tiles(conn, start, levels)]
        result.tree_failure = min((f for f in tree if f is not None), default=None)
        if len(leaves) == RANGE:
            result.root = levels[RANGE_LEVEL][0]
        for size in cut_sizes:
            result.cuts[size] = _cut(levels, size - start)
    return result


def _check_entry(
    index: int, kind: str, raw: bytes, keys: KeyHistory, result: RangeResult
) -> Logged | None:
    """Check one entry; return a history entry's previousEntry, restricted digests and
    subject (None for a key or lot entry)."""
    body = orjson.loads(raw)
    if type(body) is not dict or body.get("v") != 1 or body.get("kind") != kind:
        raise LedgerInconsistent("version or kind does not match its row")
    if kind in KEY_KINDS:
        if canonicalize(body) != raw:
            raise LedgerInconsistent("not in canonical (JCS) form")
        return None  # applied to the key history, in order, by the parent
    lot = kind == EntryKind.LOT_PRODUCED
    if not (lot or is_history(kind)):
        raise LedgerInconsistent(f"unknown kind {kind!r}")
    credential = body["credential"]
    if set(body) != {"credential", "kind", "v"} or type(credential) is not dict:
        raise LedgerInconsistent("not a credential entry of this service")
    if lot and lot_of(credential) is None:
        raise LedgerInconsistent("a lot entry holds no lot credential")
    _check_event(kind, credential)
    # One walk decides the fast canonical path; on it, the credential is serialised once to
    # check its canonical form and the signed bytes are cut from the stored entry itself
    # (`signed_parts`). Off it, the reference implementation checks and hashes.
    parts = signed_parts(credential_of(raw, kind), credential) if fast_path_ok(body) else None
    if parts is None and canonicalize(body) != raw:
        raise LedgerInconsistent("not in canonical (JCS) form")
    method = credential["proof"]["verificationMethod"]
    public = loaded_key(keys.key_for(method, index=index))
    if keys.controller_of(method) != credential.get("issuer"):
        raise SignatureInvalid("the key is not controlled by the issuer")
    try:
        verify_credential(credential, resolve_key=lambda _m: public, signed=parts)
    except PassportError as exc:
        raise SignatureInvalid(f"signature: {exc.detail}") from exc
    result.signatures += 1
    if lot:
        return None  # served from material_lot, whose balances the parent replays
    digests = {r["digestSRI"]: r["id"] for r in credential.get("relatedResource", [])}
    subject = credential.get("credentialSubject", {}).get("id")
    _note_links(index, kind, credential, subject, result)
    status = credential.get("credentialStatus")
    place = index_of(status) if isinstance(status, dict) else None
    return credential.get("previousEntry"), digests, subject, credential.get("issuer"), place


def _check_event(kind: str, credential: dict[str, Any]) -> None:
    """An event entry holds an event credential of its kind; a version entry holds none."""
    logged = event_kind(kind)  # LedgerInconsistent for an event kind outside the vocabulary
    event = event_of(credential)
    stated = event.get("kind") if event is not None else None
    if (logged.value if logged is not None else None) != stated:
        raise LedgerInconsistent(f"a {kind} entry holds a credential of event {stated!r}")


def _note_links(
    index: int, kind: str, credential: dict[str, Any], subject: Any, result: RangeResult
) -> None:
    """Note the remanufacture link an entry states, for the parent to match both ways."""
    if kind == REMANUFACTURED:
        event = event_of(credential) or {}
        result.successors[(str(subject), str(event.get("successor")))] = index
    elif "predecessor" in credential:
        result.predecessors[(str(credential["predecessor"]), str(subject))] = index


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the perfect subtrees inside the range (level 0: the leaves)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _cut(levels: list[list[bytes]], count: int) -> list[bytes]:
    """The perfect subtrees of the range's first `count` entries, left to right."""
    parts, offset = [], 0
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            parts.append(levels[level][offset >> level])
            offset += 1 << level
    return parts


def _check_tiles(conn: Connection, start: int, levels: list[list[bytes]]) -> Failure | None:
    """The tiles inside the range (tile levels 0 and 1) hold the hashes its entries give.

    A tile may be wider than the range's end allows only at the log's edge, while the log
    grows; the parent bounds every tile's width by the log's head (`UpperTree.check_stored`)."""
    end = start + len(levels[0])
    tiles = [
        (t, i)
        for t in (0, 1)
        for i in range(start >> (HEIGHT * (t + 1)), (start + RANGE) >> (HEIGHT * (t + 1)))
    ]
    return compare_tiles(
        conn,
        [(tile, width_at(tile, end)) for tile in tiles if width_at(tile, end)],
        lambda level, index: levels[level][index - (start >> level)],
    )
