"""Read the log: entries, checkpoints, inclusion and consistency proofs (O(log n) reads)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from passport.core.errors import Forbidden, InvalidInput, NotFound
from passport.core.log.merkle import consistency_proof, fold, inclusion_plan
from passport.core.product.access import Caller, Role
from passport.services.ledger.checkpoints import latest
from passport.services.ledger.log import committed_size
from passport.services.ledger.nodes import NodeCache, StoredNodes, node_cache, read_nodes
from passport.store.sql import driver_query
from passport.store.tables import CheckpointRow


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `tree_size`."""

    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162 §2.1.4 consistency proof between two tree sizes."""

    old_size: int
    new_size: int
    hashes: list[bytes]


def latest_checkpoint(sess: Session) -> CheckpointRow:
    """Return the newest signed checkpoint."""
    row = latest(sess)
    if row is None:
        raise NotFound("no checkpoint has been signed yet")
    return row


_NEWEST_NOTE = "SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1"


def newest_note(sess: Session) -> str:
    """Return the newest signed checkpoint's note: one primary-key read through the driver
    (`GET /ledger/checkpoint` is the most frequent read of witnesses and monitors)."""
    rows = driver_query(sess.connection(), _NEWEST_NOTE)
    if not rows:
        raise NotFound("no checkpoint has been signed yet")
    return str(rows[0][0])


def list_checkpoints(
    sess: Session, caller: Caller, *, limit: int = 100, before: int | None = None
) -> list[CheckpointRow]:
    """Return signed checkpoints, newest first (auditors only)."""
    if Role.AUDITOR not in caller.roles:
        raise Forbidden("only auditors list checkpoints")
    query = select(CheckpointRow).order_by(col(CheckpointRow.size).desc()).limit(limit)
    if before is not None:
        query = query.where(col(CheckpointRow.size) < before)
    return list(sess.exec(query).all())


def ensure_committed(sess: Session, size: int, field: str = "tree_size") -> NodeCache:
    """Raise unless the first `size` entries are committed; return the node cache."""
    cache = node_cache(sess)
    if size > cache.committed:
        committed = committed_size(sess)
        cache.committed = max(cache.committed, committed)
        if size > committed:
            raise InvalidInput(f"{field} is beyond the log", errors={field: ["too large"]})
    return cache


def _default_size(sess: Session, size: int | None) -> int:
    if size is not None:
        return size
    return latest_checkpoint(sess).size


def inclusion(sess: Session, index: int, tree_size: int | None = None) -> InclusionProof:
    """Return the inclusion proof of entry `index` (tree size defaults to the latest checkpoint)."""
    size = _default_size(sess, tree_size)
    if not 0 <= index < size:
        raise InvalidInput(
            "index must be below tree_size", errors={"index": [f"0 <= index < {size}"]}
        )
    cache = ensure_committed(sess, size)
    plan = inclusion_plan(index, size)
    # The leaf and its siblings lie in a few tiles (one per 4 levels): one statement reads all.
    found = read_nodes(sess, [(0, index), *(node for group in plan for node in group)], cache)
    hashes = [
        found[group[0]] if len(group) == 1 else fold([found[node] for node in group])
        for group in plan
    ]
    return InclusionProof(index, size, found[(0, index)], hashes)


def consistency(sess: Session, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Return the consistency proof from `old_size` to `new_size` (default: latest checkpoint)."""
    size = _default_size(sess, new_size)
    if not 0 < old_size <= size:
        raise InvalidInput("need 0 < from <= to", errors={"from": [f"1 <= from <= {size}"]})
    cache = ensure_committed(sess, size, "to")
    return ConsistencyProof(
        old_size, size, consistency_proof(old_size, size, StoredNodes(sess, cache))
    )
