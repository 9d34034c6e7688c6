"""RFC 6962/9162 proof probes (transparency-dev/merkle) and the reference tree's known answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from passport.core.errors import LedgerInconsistent
from passport.core.log.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# MTH of the first n reference leaves, n = 0..8: the RFC 6962 test data shipped with
# google/trillian's and certificate-transparency's Merkle verifier tests (size 0 and 8 are also
# in tests/conformance/vectors/README.md).
REFERENCE_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# Known-answer proofs over the reference tree from the same test data (0-based leaf indices).
H_96A2 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
H_5F08 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
H_6B47 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
H_BC1A = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
H_CA85 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
H_0EBC = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
INCLUSION_ANSWERS = [
    (0, 8, [H_96A2, H_5F08, H_6B47]),
    (5, 8, [H_BC1A, H_CA85, REFERENCE_ROOTS[4]]),
    (2, 3, [REFERENCE_ROOTS[2]]),
    (1, 5, [REFERENCE_ROOTS[1], H_5F08, H_BC1A]),
    (0, 1, []),
]
CONSISTENCY_ANSWERS = [
    (1, 1, []),
    (1, 8, [H_96A2, H_5F08, H_6B47]),
    (6, 8, [H_0EBC, H_CA85, REFERENCE_ROOTS[4]]),
    (2, 5, [H_5F08, H_BC1A]),
]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value is not None else b""


def _probes(conformance_dir: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    folder = conformance_dir / "merkle" / kind
    return [
        (str(path.relative_to(folder)), json.loads(path.read_text()))
        for path in sorted(folder.rglob("*.json"))
    ]


def _disagreements(
    probes: list[tuple[str, dict[str, Any]]],
    check: Callable[[dict[str, Any]], None],
    refusal: type[Exception] = LedgerInconsistent,
) -> list[str]:
    """Run every probe; return the names of those whose outcome differs from wantErr."""
    wrong = []
    for name, probe in probes:
        try:
            check(probe)
        except refusal:
            if not probe["wantErr"]:
                wrong.append(f"{name}: refused a valid proof")
        else:
            if probe["wantErr"]:
                wrong.append(f"{name}: accepted an invalid proof")
    return wrong


def test_all_196_probes_are_present(conformance_dir: Path) -> None:
    inclusion = _probes(conformance_dir, "inclusion")
    consistency = _probes(conformance_dir, "consistency")
    assert (len(inclusion), len(consistency)) == (98, 98)
    assert len(inclusion) + len(consistency) == 196
    # Both outcomes are exercised, so the probes cannot pass by always (or never) raising.
    for probes in (inclusion, consistency):
        assert {p["wantErr"] for _, p in probes} == {True, False}


def test_inclusion_probes(conformance_dir: Path) -> None:
    def check(p: dict[str, Any]) -> None:
        verify_inclusion(
            index=p["leafIdx"],
            size=p["treeSize"],
            leaf_hash=_b64(p["leafHash"]),
            proof=[_b64(h) for h in p["proof"] or []],
            root=_b64(p["root"]),
        )

    assert _disagreements(_probes(conformance_dir, "inclusion"), check) == []


def test_consistency_probes(conformance_dir: Path) -> None:
    def check(p: dict[str, Any]) -> None:
        verify_consistency(
            old_size=p["size1"],
            new_size=p["size2"],
            old_root=_b64(p["root1"]),
            new_root=_b64(p["root2"]),
            proof=[_b64(h) for h in p["proof"] or []],
        )

    assert _disagreements(_probes(conformance_dir, "consistency"), check) == []


def _reference_tree() -> MemoryTree:
    tree = MemoryTree()
    for entry in REFERENCE_LEAVES:
        tree.append(leaf_hash(entry))
    return tree


def test_reference_roots() -> None:
    tree = _reference_tree()
    hashes = [leaf_hash(entry) for entry in REFERENCE_LEAVES]
    assert EMPTY_ROOT.hex() == REFERENCE_ROOTS[0]
    for size, expected in enumerate(REFERENCE_ROOTS):
        assert root(size, tree).hex() == expected, size
        assert root_from_leaves(hashes[:size]).hex() == expected, size


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_ANSWERS)
def test_reference_inclusion_proofs(index: int, size: int, expected: list[str]) -> None:
    proof = inclusion_proof(index, size, _reference_tree())
    assert [h.hex() for h in proof] == expected
    verify_inclusion(
        index=index,
        size=size,
        leaf_hash=leaf_hash(REFERENCE_LEAVES[index]),
        proof=proof,
        root=bytes.fromhex(REFERENCE_ROOTS[size]),
    )


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CONSISTENCY_ANSWERS)
def test_reference_consistency_proofs(old_size: int, new_size: int, expected: list[str]) -> None:
    proof = consistency_proof(old_size, new_size, _reference_tree())
    assert [h.hex() for h in proof] == expected
    verify_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=bytes.fromhex(REFERENCE_ROOTS[old_size]),
        new_root=bytes.fromhex(REFERENCE_ROOTS[new_size]),
        proof=proof,
    )


def test_hasher_known_answers() -> None:
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_the_tests_independent_verifier_agrees_with_every_probe(conformance_dir: Path) -> None:
    """The verifier the HTTP tests use (tests/independent_log.py) is held to the probes too."""
    from tests import independent_log as independent

    def inclusion(p: dict[str, Any]) -> None:
        independent.verify_inclusion(
            p["leafIdx"],
            p["treeSize"],
            _b64(p["leafHash"]),
            [_b64(h) for h in p["proof"] or []],
            _b64(p["root"]),
        )

    def consistency(p: dict[str, Any]) -> None:
        independent.verify_consistency(
            p["size1"],
            p["size2"],
            _b64(p["root1"]),
            _b64(p["root2"]),
            [_b64(h) for h in p["proof"] or []],
        )

    rejected = independent.Rejected
    assert _disagreements(_probes(conformance_dir, "inclusion"), inclusion, rejected) == []
    assert _disagreements(_probes(conformance_dir, "consistency"), consistency, rejected) == []
