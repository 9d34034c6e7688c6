"""RFC 9162 Merkle tree: hashes, proofs over stored perfect-subtree nodes, and verification."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

from passport.core.errors import LedgerInconsistent

NodeId = tuple[int, int]  # (level, index): leaves [index·2^level, (index+1)·2^level)
EMPTY_ROOT = hashlib.sha256(b"").digest()


class NodeReader(Protocol):
    """Where stored perfect-subtree hashes come from (a database, a dict)."""

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


def _subtrees(start: int, end: int) -> list[NodeId]:
    """Return the perfect subtrees that make up leaves [start, end), left to right."""
    ids = []
    while start < end:
        level = (end - start).bit_length() - 1
        ids.append((level, start >> level))
        start += 1 << level
    return ids


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the perfect subtrees of a range right to left into its MTH."""
    digest = hashes[-1]
    for left in reversed(hashes[:-1]):
        digest = node_hash(left, digest)
    return digest


def _inclusion_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTH make up PATH(index, D[start:end]), in proof order."""
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def _consistency_ranges(m: int, start: int, end: int, complete: bool) -> list[tuple[int, int]]:
    """Return the leaf ranges of SUBPROOF(m, D[start:end], complete), in proof order."""
    ranges: list[tuple[int, int]] = []
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            complete = False
    return list(reversed(ranges))


def _hashes_of(ranges: Sequence[tuple[int, int]], reader: NodeReader) -> list[bytes]:
    ids = [_subtrees(s, e) for s, e in ranges]
    found = reader.nodes([i for group in ids for i in group])
    return [_fold([found[i] for i in group]) for group in ids]


def root(size: int, reader: NodeReader) -> bytes:
    """Return MTH of the first `size` leaves from O(log n) stored nodes."""
    if size == 0:
        return EMPTY_ROOT
    return _hashes_of([(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise LedgerInconsistent(f"index {index} is not below tree size {size}")
    return _hashes_of(_inclusion_ranges(index, 0, size), reader)


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from `old_size` to `new_size`."""
    if not 0 < old_size <= new_size:
        raise LedgerInconsistent(f"no consistency proof from {old_size} to {new_size}")
    if old_size == new_size:
        return []
    return _hashes_of(_consistency_ranges(old_size, 0, new_size, True), reader)


def _check_hashes(proof: Sequence[bytes], *hashes: bytes) -> None:
    for digest in (*proof, *hashes):
        if not isinstance(digest, bytes) or len(digest) != 32:
            raise LedgerInconsistent("every hash must be exactly 32 bytes")


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof exactly as RFC 9162 §2.1.3.2 says; raise if it fails."""
    _check_hashes(proof, leaf_hash, root)
    if not 0 <= index < size:
        raise LedgerInconsistent(f"inclusion: index {index} is not below size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise LedgerInconsistent("inclusion: proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerInconsistent("inclusion: proof is too short")
    if r != root:
        raise LedgerInconsistent("inclusion: computed root does not match")


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Verify a consistency proof exactly as RFC 9162 §2.1.4.2 says; raise if it fails."""
    _check_hashes(proof)
    if old_size < 0 or new_size < old_size:
        raise LedgerInconsistent(f"consistency: sizes {old_size} -> {new_size} go backwards")
    if old_size == 0:
        raise LedgerInconsistent("consistency: nothing to prove from an empty tree")
    if old_size == new_size:
        if proof:
            raise LedgerInconsistent("consistency: equal sizes need an empty proof")
        if old_root != new_root:
            raise LedgerInconsistent("consistency: equal sizes with different roots")
        return
    _check_hashes((), old_root, new_root)
    if not proof:
        raise LedgerInconsistent("consistency: empty proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LedgerInconsistent("consistency: proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerInconsistent("consistency: proof is too short")
    if fr != old_root or sr != new_root:
        raise LedgerInconsistent("consistency: computed roots do not match")


class MemoryTree:
    """All perfect-subtree hashes of a tree in memory (tests, audits of small logs)."""

    def __init__(self) -> None:
        self._nodes: dict[NodeId, bytes] = {}
        self.size = 0

    def append(self, digest: bytes) -> None:
        """Append a leaf hash, adding every perfect subtree it completes."""
        index = self.size
        self._nodes[(0, index)] = digest
        level = 1
        while (index + 1) % (1 << level) == 0:
            parent = index >> level
            self._nodes[(level, parent)] = node_hash(
                self._nodes[(level - 1, 2 * parent)], self._nodes[(level - 1, 2 * parent + 1)]
            )
            level += 1
        self.size += 1

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the requested perfect-subtree hashes."""
        try:
            return {i: self._nodes[i] for i in ids}
        except KeyError as exc:
            raise LedgerInconsistent(f"no node {exc.args[0]}") from None
