"""Merkle proofs: differential against the RFC 9162 definitions; any single-bit change fails."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.core.errors import LedgerInconsistent
from passport.core.merkle import (
    MemoryTree,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH by the recursive definition of RFC 9162 §2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def build(n: int) -> tuple[MemoryTree, list[bytes]]:
    tree, leaves = MemoryTree(), [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    for digest in leaves:
        tree.append(digest)
    return tree, leaves


LIMIT = 4096  # sizes up to 2000 with one of their low 11 bits flipped stay below this
ALL_TREE, ALL_LEAVES = build(LIMIT)


def genuine_root(size: int) -> bytes:
    """The real root of the first `size` leaves of the shared tree."""
    return root(size, ALL_TREE)


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1 :]


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 2000), data=st.data())
def test_inclusion_proofs_verify_match_the_definition_and_catch_any_bit(
    n: int, data: st.DataObject
) -> None:
    tree, leaves = ALL_TREE, ALL_LEAVES[:n]
    index = data.draw(st.integers(0, n - 1))
    tree_root = root(n, tree)
    assert tree_root == mth(leaves)
    proof = inclusion_proof(index, n, tree)
    assert proof == path(index, leaves)
    verify_inclusion(index=index, size=n, leaf_hash=leaves[index], proof=proof, root=tree_root)
    bit = data.draw(st.integers(0, 255))
    bad_cases = [
        {"leaf_hash": flip(leaves[index], bit)},
        {"root": flip(tree_root, bit)},
        {"index": index ^ (1 << data.draw(st.integers(0, 11)))},
    ]
    # A size only means something with its root (a checkpoint signs both): another size is
    # checked against that size's genuine root.
    other = n ^ (1 << data.draw(st.integers(0, 11)))
    if other > 0:
        bad_cases.append({"size": other, "root": genuine_root(other)})
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad_cases.append({"proof": [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]})
    for change in bad_cases:
        args = {
            "index": index,
            "size": n,
            "leaf_hash": leaves[index],
            "proof": proof,
            "root": tree_root,
        }
        args.update(change)
        with pytest.raises(LedgerInconsistent):
            verify_inclusion(**args)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(n=st.integers(2, 2000), data=st.data())
def test_consistency_proofs_verify_match_the_definition_and_catch_any_bit(
    n: int, data: st.DataObject
) -> None:
    tree, leaves = ALL_TREE, ALL_LEAVES[:n]
    m = data.draw(st.integers(1, n - 1))
    old_root, new_root = mth(leaves[:m]), root(n, tree)
    proof = consistency_proof(m, n, tree)
    assert proof == subproof(m, leaves, True)
    verify_consistency(old_size=m, new_size=n, old_root=old_root, new_root=new_root, proof=proof)
    bit = data.draw(st.integers(0, 255))
    at = data.draw(st.integers(0, len(proof) - 1))
    bad_cases = [
        {"old_root": flip(old_root, bit)},
        {"new_root": flip(new_root, bit)},
        {"proof": [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]},
    ]
    other_old = m ^ (1 << data.draw(st.integers(0, 11)))
    if other_old > 0:
        bad_cases.append({"old_size": other_old, "old_root": genuine_root(other_old)})
    other_new = n ^ (1 << data.draw(st.integers(0, 11)))
    if other_new > 0:
        bad_cases.append({"new_size": other_new, "new_root": genuine_root(other_new)})
    for change in bad_cases:
        args = {
            "old_size": m,
            "new_size": n,
            "old_root": old_root,
            "new_root": new_root,
            "proof": proof,
        }
        args.update(change)
        with pytest.raises(LedgerInconsistent):
            verify_consistency(**args)  # type: ignore[arg-type]


class CountingReader:
    """Answers any node with a dummy hash and counts what was asked, and how often."""

    def __init__(self) -> None:
        self.calls = 0
        self.asked = 0

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls += 1
        self.asked += len(ids)
        return {i: hashlib.sha256(repr(i).encode()).digest() for i in ids}


@pytest.mark.parametrize("size", [10**4, 10**6, 10**7, 2**40 + 12345])
def test_proofs_read_log_n_nodes_in_one_call(size: int) -> None:
    bound = 2 * size.bit_length() + 2
    for index in (0, size // 3, size - 1):
        reader = CountingReader()
        inclusion_proof(index, size, reader)
        assert reader.calls == 1
        assert reader.asked <= bound
    reader = CountingReader()
    consistency_proof(size // 2 + 1, size, reader)
    assert reader.calls == 1
    assert reader.asked <= bound
    reader = CountingReader()
    root(size, reader)
    assert reader.asked <= size.bit_length()
