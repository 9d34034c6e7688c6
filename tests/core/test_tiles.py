"""Tiles: every hash a tile holds is the RFC 9162 hash of its leaves, at the slot it names."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from passport.core.log.tiles import (
    HEIGHT,
    WIDTH,
    edge_tiles,
    hash_in,
    nodes_of,
    pack,
    slot,
    tile_length,
    tile_of,
    tiles_from_leaves,
    unpack,
    width_at,
)
from tests.independent_log import leaf, mth


def _subtree(leaves: list[bytes], level: int, index: int) -> bytes:
    return mth(leaves[index << level : (index + 1) << level])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=5000))
def test_built_tiles_hold_each_subtree_hash_and_cover_the_log(size: int) -> None:
    leaves = [leaf(b"%d" % i) for i in range(size)]
    built = {tile: (width, data) for tile, width, data in tiles_from_leaves(leaves)}
    # Exactly the tiles with a complete subtree at their lowest level, each as wide as the log.
    expected = {
        (t, i): width_at((t, i), size)
        for t in range(4)  # 5,000 entries reach tile level 3
        for i in range((size >> (HEIGHT * t)) // WIDTH + 1)
        if width_at((t, i), size)
    }
    assert {tile: width for tile, (width, _data) in built.items()} == expected
    assert [(tile, w) for tile, w in expected.items() if w < WIDTH] == sorted(
        edge_tiles(size), key=lambda edge: (edge[0][0], edge[0][1])
    )
    for tile, (width, data) in built.items():
        assert len(data) == tile_length(width)
        held = unpack(tile, width, data)
        assert list(held) == nodes_of(tile, width)
        for (level, index), digest in held.items():
            assert tile_of((level, index)) == tile
            assert level // HEIGHT == tile[0]
            assert digest == _subtree(leaves, level, index), (tile, level, index)


@given(st.integers(min_value=1, max_value=WIDTH), st.integers(min_value=0, max_value=3))
def test_pack_puts_each_node_at_its_slot(width: int, t: int) -> None:
    tile = (t, 5)
    hashes = {node: bytes([n]) * 32 for n, node in enumerate(nodes_of(tile, width))}
    data = pack(tile, width, hashes)
    for node, digest in hashes.items():
        at = slot(node, width)
        assert at is not None
        assert data[32 * at : 32 * at + 32] == digest
    assert unpack(tile, width, data) == hashes
    # A node the tile is too narrow to hold has no slot.
    level, index = HEIGHT * t, (5 << HEIGHT) + width
    assert width == WIDTH or slot((level, index), width) is None


def test_malformed_tiles_hold_nothing() -> None:
    tile, data = (0, 0), b"\x01" * tile_length(3)
    assert unpack(tile, 3, data)
    assert unpack(tile, 4, data) == {}  # the length disagrees with the width
    assert unpack(tile, 3, data[:-1]) == {}
    assert unpack(tile, 0, b"") == {}
    assert unpack(tile, 17, b"\x01" * tile_length(16)) == {}
    assert unpack(tile, "3", data) == {}  # TEXT where SQLite should hold an integer
    assert unpack(tile, 3, bytearray(data)) == {}


def test_hash_in_reads_a_node_at_its_slot_or_nothing() -> None:
    tile = (1, 2)
    hashes = {node: bytes([n]) * 32 for n, node in enumerate(nodes_of(tile, 5))}
    data = pack(tile, 5, hashes)
    assert all(hash_in(node, 5, data) == digest for node, digest in hashes.items())
    assert hash_in((4, (2 << 4) + 5), 5, data) is None  # the sixth subtree: not in a width of 5
