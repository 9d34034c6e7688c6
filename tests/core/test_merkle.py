"""Merkle proofs: differential against the RFC 9162 definitions; any single-bit change fails."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.core.errors import LedgerInconsistent
from passport.core.log.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    NodeId,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    node_hash,
    root,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# --- RFC 9162 §2.1 written out recursively, as the reference for the differential checks ---


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


# --- helpers ---

SPAN = 4096  # sizes up to 2000 with one of their low 11 bits flipped stay below this


def random_leaves(seed: bytes, n: int = SPAN) -> list[bytes]:
    return [hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(n)]


def tree_of(leaves: Sequence[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for digest in leaves:
        tree.append(digest)
    return tree


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1 :]


def refused(verify: Any, base: dict[str, Any], change: dict[str, Any]) -> bool:
    try:
        verify(**{**base, **change})
    except LedgerInconsistent:
        return True
    return False


class DictReader:
    """A NodeReader over a plain dict that counts calls and ids asked for."""

    def __init__(self, store: Mapping[NodeId, bytes]) -> None:
        self.store, self.calls, self.asked = store, 0, 0

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls += 1
        self.asked += len(ids)
        return {i: self.store[i] for i in ids if i in self.store}


class DummyReader(DictReader):
    """Answers any node with a made-up hash: enough to count reads on huge trees."""

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls += 1
        self.asked += len(ids)
        return {i: hashlib.sha256(repr(i).encode()).digest() for i in ids}


SEED = st.binary(min_size=1, max_size=8)
EXAMPLES = settings(max_examples=60, deadline=None)


@EXAMPLES
@given(seed=SEED, n=st.integers(1, 2000), data=st.data())
def test_inclusion_proofs_match_the_definition_verify_and_catch_any_bit(
    seed: bytes, n: int, data: st.DataObject
) -> None:
    all_leaves = random_leaves(seed)
    leaves, tree = all_leaves[:n], tree_of(all_leaves[:n])
    index = data.draw(st.integers(0, n - 1), label="index")
    tree_root = root_from_leaves(leaves)
    assert root(n, tree) == tree_root == mth(leaves)
    reader = DictReader(tree.stored)
    proof = inclusion_proof(index, n, reader)
    assert reader.calls == (n > 1)  # a one-leaf tree needs no read at all
    assert proof == path(index, leaves)
    base: dict[str, Any] = {"index": index, "size": n, "leaf_hash": leaves[index], "proof": proof}
    verify_inclusion(**base, root=tree_root)
    base["root"] = tree_root
    bit = data.draw(st.integers(0, 255), label="bit")
    changes: list[dict[str, Any]] = [
        {"leaf_hash": flip(leaves[index], bit)},
        {"root": flip(tree_root, bit)},
        {"index": index ^ (1 << data.draw(st.integers(0, 11), label="index bit"))},
    ]
    # A size is signed together with its root, so another size comes with its genuine root.
    other = n ^ (1 << data.draw(st.integers(0, 11), label="size bit"))
    changes.append({"size": other, "root": root_from_leaves(all_leaves[:other])})
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="proof position")
        changes.append({"proof": [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]})
    changes += [{"proof": [*proof, tree_root]}, {"proof": [tree_root, *proof]}]
    changes += [{"proof": proof[:-1]}] if proof else []
    assert [c for c in changes if not refused(verify_inclusion, base, c)] == []


@EXAMPLES
@given(seed=SEED, n=st.integers(2, 2000), data=st.data())
def test_consistency_proofs_match_the_definition_verify_and_catch_any_bit(
    seed: bytes, n: int, data: st.DataObject
) -> None:
    all_leaves = random_leaves(seed)
    leaves, tree = all_leaves[:n], tree_of(all_leaves[:n])
    m = data.draw(st.integers(1, n - 1), label="old size")
    old_root, new_root = root_from_leaves(leaves[:m]), root_from_leaves(leaves)
    reader = DictReader(tree.stored)
    proof = consistency_proof(m, n, reader)
    assert reader.calls == 1
    assert proof == subproof(m, leaves, True)
    base: dict[str, Any] = {
        "old_size": m,
        "new_size": n,
        "old_root": old_root,
        "new_root": new_root,
    }
    verify_consistency(**base, proof=proof)
    base["proof"] = proof
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="proof position")
    other_old = m ^ (1 << data.draw(st.integers(0, 11), label="old size bit"))
    other_new = n ^ (1 << data.draw(st.integers(0, 11), label="new size bit"))
    changes: list[dict[str, Any]] = [
        {"old_root": flip(old_root, bit)},
        {"new_root": flip(new_root, bit)},
        {"proof": [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]},
        {"old_size": other_old, "old_root": root_from_leaves(all_leaves[:other_old])},
        {"new_size": other_new, "new_root": root_from_leaves(all_leaves[:other_new])},
        {"proof": [*proof, new_root]},
        {"proof": proof[:-1]},
        {"old_root": new_root, "new_root": old_root},
    ]
    assert [c for c in changes if not refused(verify_consistency, base, c)] == []


@pytest.mark.parametrize("size", [10**6, 10**4 + 1, 2**20, 2**40 + 12345])
def test_proofs_read_o_log_n_nodes_in_one_call(size: int) -> None:
    bound = 2 * (size.bit_length() - 1) + 2  # 2·floor(log2 n) + 2
    for index in (0, 1, size // 3, size - 2, size - 1):
        reader = DummyReader({})
        assert len(inclusion_proof(index, size, reader)) <= size.bit_length()
        assert (reader.calls, reader.asked <= bound) == (1, True)
    for old_size in (1, size // 2 + 1, size - 1):
        reader = DummyReader({})
        consistency_proof(old_size, size, reader)
        assert (reader.calls, reader.asked <= bound) == (1, True)
    reader = DummyReader({})
    root(size, reader)
    assert (reader.calls, reader.asked) == (1, bin(size).count("1"))


def test_root_from_leaves_small_cases() -> None:
    leaves = random_leaves(b"small", 70)
    assert root_from_leaves([]) == EMPTY_ROOT == root(0, MemoryTree())
    for n in range(1, 70):
        assert root_from_leaves(leaves[:n]) == mth(leaves[:n])


def test_plans_refuse_impossible_requests() -> None:
    for index, size in ((0, 0), (5, 5), (-1, 3)):
        with pytest.raises(LedgerInconsistent):
            inclusion_plan(index, size)
    for old_size, new_size in ((0, 5), (6, 5), (-1, 2)):
        with pytest.raises(LedgerInconsistent):
            consistency_plan(old_size, new_size)
    assert consistency_plan(7, 7) == []


def test_plans_split_a_ragged_right_edge_into_perfect_subtrees() -> None:
    assert inclusion_plan(6, 7) == [((1, 2),), ((2, 0),)]
    assert inclusion_plan(0, 7) == [((0, 1),), ((1, 1),), ((1, 2), (0, 6))]
    assert consistency_plan(3, 7) == [((0, 2),), ((0, 3),), ((1, 0),), ((1, 2), (0, 6))]
    assert consistency_plan(4, 7) == [((1, 2), (0, 6))]


def test_a_reader_that_lacks_a_node_or_garbles_one_is_refused() -> None:
    tree = tree_of(random_leaves(b"gap", 9))
    store = dict(tree.stored)
    del store[(2, 1)]
    with pytest.raises(LedgerInconsistent, match=r"\(2, 1\)"):
        inclusion_proof(0, 9, DictReader(store))
    store = {**tree.stored, (3, 0): b"\x00" * 31}
    with pytest.raises(LedgerInconsistent, match="32 bytes"):
        root(9, DictReader(store))
    with pytest.raises(LedgerInconsistent):
        tree.nodes([(0, 9)])


def test_verifiers_check_sizes_lengths_and_special_cases() -> None:
    leaves = random_leaves(b"edge", 8)
    r1, r8 = root_from_leaves(leaves[:1]), root_from_leaves(leaves)
    ok: dict[str, Any] = {
        "index": 3,
        "size": 8,
        "leaf_hash": leaves[3],
        "proof": path(3, leaves),
        "root": r8,
    }
    verify_inclusion(**ok)
    for change in (
        {"index": 8},
        {"index": -1},
        {"size": 0, "index": 0},
        {"leaf_hash": leaves[3] + b"\x00"},
        {"root": r8[:31]},
        {"proof": [*ok["proof"][:2], ok["proof"][2] + b"\x00"]},
    ):
        assert refused(verify_inclusion, ok, change), change
    verify_inclusion(index=0, size=1, leaf_hash=leaves[0], proof=[], root=leaves[0])
    verify_consistency(old_size=1, new_size=1, old_root=r1, new_root=r1, proof=[])
    verify_consistency(old_size=8, new_size=8, old_root=r8, new_root=r8, proof=[])
    ok = {"old_size": 1, "new_size": 8, "old_root": r1, "new_root": r8}
    ok["proof"] = subproof(1, leaves, True)
    verify_consistency(**ok)
    changes: list[dict[str, Any]] = [
        {"old_size": 0, "old_root": EMPTY_ROOT},
        {"old_size": 0, "old_root": EMPTY_ROOT, "proof": []},
        {"old_size": 9},
        {"new_size": 8, "old_size": 8, "old_root": r8},
        {"old_size": 8, "old_root": r8, "new_root": r1, "proof": []},
        {"proof": []},
        {"old_root": r1[:16]},
    ]
    for change in changes:
        assert refused(verify_consistency, ok, change), change
