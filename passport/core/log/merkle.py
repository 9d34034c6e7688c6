"""RFC 9162 Merkle tree: hashes, proofs read from stored perfect-subtree nodes, verification."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from passport.core.errors import LedgerInconsistent

# (level, index) names the perfect subtree over leaves [index·2^level, (index+1)·2^level).
NodeId = tuple[int, int]
Plan = list[tuple[NodeId, ...]]  # per output hash, its perfect subtrees from left to right
EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


class NodeReader(Protocol):
    """Where stored perfect-subtree hashes come from (a database table, a dict)."""

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the hashes of the perfect subtrees `ids`."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """Return SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_ids(start: int, end: int) -> tuple[NodeId, ...]:
    """Return the perfect subtrees of the range [start, end), left to right."""
    # Every range a proof names starts on a multiple of a power of two at least as large as the
    # range, so taking the largest power of two that fits is exactly RFC 9162's k-split.
    ids = []
    while start < end:
        level = (end - start).bit_length() - 1
        ids.append((level, start >> level))
        start += 1 << level
    return tuple(ids)


def root_plan(size: int) -> Plan:
    """Return the perfect subtrees whose right-to-left fold is MTH of `size` leaves (size > 0)."""
    return [_range_ids(0, size)]


def inclusion_plan(index: int, size: int) -> Plan:
    """Return, per hash of PATH(index, D[0:size]) in proof order, its perfect subtrees."""
    if not 0 <= index < size:
        raise LedgerInconsistent(f"inclusion: index {index} is not below tree size {size}")
    # Below level `inner` (where index and size - 1 part ways) the path has a sibling at every
    # level, all perfect but the last, which may be cut off by the tree's right edge. Above it
    # the path runs along the right edge: a left sibling wherever index has a 1 bit.
    inner = (index ^ (size - 1)).bit_length()
    plan: Plan = []
    for level in range(inner):
        sibling = (index >> level) ^ 1
        start = sibling << level
        if start + (1 << level) <= size:
            plan.append(((level, sibling),))
        else:
            plan.append(_range_ids(start, size))
    for level in range(inner, size.bit_length()):
        if index >> level & 1:
            plan.append(((level, (index >> level) ^ 1),))
    return plan


def consistency_plan(old_size: int, new_size: int) -> Plan:
    """Return, per hash of PROOF(old_size, D[0:new_size]) in proof order, its perfect subtrees."""
    if not 0 < old_size <= new_size:
        raise LedgerInconsistent(f"consistency: no proof from size {old_size} to {new_size}")
    ranges, m, start, end, complete = [], old_size, 0, new_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m, start, complete = m - k, start + k, False
    if not complete:
        ranges.append((start, end))
    return [_range_ids(s, e) for s, e in reversed(ranges)]


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of adjacent perfect subtrees right to left into the range's MTH."""
    digest = hashes[-1]
    for left in reversed(hashes[:-1]):
        digest = node_hash(left, digest)
    return digest


def _read(reader: NodeReader, ids: Iterable[NodeId]) -> Mapping[NodeId, bytes]:
    """Fetch `ids` in one call, refusing an answer that lacks one or holds a malformed hash."""
    wanted = list(dict.fromkeys(ids))
    found = reader.nodes(wanted) if wanted else {}
    for node in wanted:
        if len(found.get(node, b"")) != HASH_SIZE:
            raise LedgerInconsistent(f"stored node {node} is missing or not {HASH_SIZE} bytes")
    return found


def fetch(plan: Plan, reader: NodeReader) -> list[bytes]:
    """Return the hashes a plan describes, reading every node it needs in one call."""
    found = _read(reader, (node for group in plan for node in group))
    return [fold([found[node] for node in group]) for group in plan]


def root(size: int, reader: NodeReader) -> bytes:
    """Return MTH of the first `size` leaves from at most log2(size)+1 stored nodes."""
    return fetch(root_plan(size), reader)[0] if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
    return fetch(inclusion_plan(index, size), reader)


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from `old_size` to `new_size` leaves."""
    return fetch(consistency_plan(old_size, new_size), reader)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH of a whole list of leaf hashes in one pass (O(n) time, O(log n) memory)."""
    stack: list[tuple[int, bytes]] = []  # the current perfect subtrees: (level, hash)
    for digest in leaf_hashes:
        level = 0
        while stack and stack[-1][0] == level:
            digest, level = node_hash(stack.pop()[1], digest), level + 1
        stack.append((level, digest))
    return fold([digest for _, digest in stack]) if stack else EMPTY_ROOT


def _check_hashes(*hashes: bytes) -> None:
    for digest in hashes:
        if not isinstance(digest, bytes) or len(digest) != HASH_SIZE:
            raise LedgerInconsistent(f"every hash must be exactly {HASH_SIZE} bytes")


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof as RFC 9162 §2.1.3.2 says; raise LedgerInconsistent if not."""
    _check_hashes(leaf_hash, root, *proof)
    if not 0 <= index < size:
        raise LedgerInconsistent(f"inclusion: index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise LedgerInconsistent("inclusion: proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerInconsistent("inclusion: proof is shorter than the tree is deep")
    if r != root:
        raise LedgerInconsistent("inclusion: the computed root does not match the given root")


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Verify a consistency proof as RFC 9162 §2.1.4.2 says; raise LedgerInconsistent if not."""
    _check_hashes(*proof)
    if not 0 <= old_size <= new_size:
        raise LedgerInconsistent(f"consistency: sizes {old_size} -> {new_size} go backwards")
    if old_size == 0:
        # RFC 9162 defines no proof from the empty tree; accepting one would prove nothing.
        raise LedgerInconsistent("consistency: there is no proof from the empty tree")
    if old_size == new_size:
        if proof:
            raise LedgerInconsistent("consistency: equal sizes need an empty proof")
        if old_root != new_root:
            raise LedgerInconsistent("consistency: equal sizes but different roots")
        return  # nothing is hashed, so the roots are only compared (as the probes expect)
    _check_hashes(old_root, new_root)
    if not proof:
        raise LedgerInconsistent("consistency: the proof is empty")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LedgerInconsistent("consistency: proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerInconsistent("consistency: proof is shorter than the tree is deep")
    if fr != old_root:
        raise LedgerInconsistent("consistency: the computed old root does not match")
    if sr != new_root:
        raise LedgerInconsistent("consistency: the computed new root does not match")


class MemoryTree:
    """Every perfect-subtree hash of a tree, in memory (tests, audits of small logs)."""

    def __init__(self) -> None:
        self._nodes: dict[NodeId, bytes] = {}
        self.size = 0

    def append(self, leaf_hash: bytes) -> int:
        """Append a leaf hash, store every perfect subtree it completes, return its index."""
        index, self.size = self.size, self.size + 1
        self._nodes[(0, index)] = leaf_hash
        level = 1
        while (index + 1) % (1 << level) == 0:
            parent = index >> level
            left, right = (
                self._nodes[(level - 1, 2 * parent)],
                self._nodes[(level - 1, 2 * parent + 1)],
            )
            self._nodes[(level, parent)] = node_hash(left, right)
            level += 1
        return index

    @property
    def stored(self) -> Mapping[NodeId, bytes]:
        """Return a read-only view of every stored node."""
        return MappingProxyType(self._nodes)

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the requested perfect-subtree hashes; raise if one is not stored."""
        missing = [i for i in ids if i not in self._nodes]
        if missing:
            raise LedgerInconsistent(f"no stored node {missing[0]}")
        return {i: self._nodes[i] for i in ids}
