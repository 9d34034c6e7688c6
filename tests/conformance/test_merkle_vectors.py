"""RFC 6962/9162 proof probes (transparency-dev/merkle) and the reference tree's known answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from passport.core.errors import LedgerInconsistent
from passport.core.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

REFERENCE_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value is not None else b""


def _probes(conformance_dir: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    folder = conformance_dir / "merkle" / kind
    return [
        (str(p.relative_to(folder)), json.loads(p.read_text()))
        for p in sorted(folder.rglob("*.json"))
    ]


def test_all_probes_present(conformance_dir: Path) -> None:
    assert len(_probes(conformance_dir, "inclusion")) == 98
    assert len(_probes(conformance_dir, "consistency")) == 98


def test_inclusion_probes(conformance_dir: Path) -> None:
    for name, probe in _probes(conformance_dir, "inclusion"):

        def run(p: dict[str, Any] = probe) -> None:
            verify_inclusion(
                index=p["leafIdx"],
                size=p["treeSize"],
                leaf_hash=_b64(p["leafHash"]),
                proof=[_b64(h) for h in p["proof"] or []],
                root=_b64(p["root"]),
            )

        if probe["wantErr"]:
            with pytest.raises(LedgerInconsistent):
                run()
        else:
            run()
        assert name


def test_consistency_probes(conformance_dir: Path) -> None:
    for name, probe in _probes(conformance_dir, "consistency"):

        def run(p: dict[str, Any] = probe) -> None:
            verify_consistency(
                old_size=p["size1"],
                new_size=p["size2"],
                old_root=_b64(p["root1"]),
                new_root=_b64(p["root2"]),
                proof=[_b64(h) for h in p["proof"] or []],
            )

        if probe["wantErr"]:
            with pytest.raises(LedgerInconsistent):
                run()
        else:
            run()
        assert name


def test_reference_roots() -> None:
    """Roots of the RFC 6962 reference tree, sizes 0-8 (transparency-dev/merkle testdata)."""
    expected = [
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
    tree = MemoryTree()
    assert root(0, tree).hex() == EMPTY_ROOT.hex() == expected[0]
    for size, leaf in enumerate(REFERENCE_LEAVES, start=1):
        tree.append(leaf_hash(leaf))
        assert root(size, tree).hex() == expected[size], size


def test_hasher_known_answers() -> None:
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )
