"""Tiles: how the log stores its node hashes, 30 to a row, so a proof reads one row per 4 levels.

Tile (t, i) holds every perfect subtree at levels 4t to 4t+3 inside the subtree (4t+4, i): up to
16 hashes at level 4t, 8 at 4t+1, 4 at 4t+2 and 2 at 4t+3, in that order, left to right. Its
`width` is how many of the 16 level-4t subtrees are complete; a tile at the log's right edge is
partial (width 1-15) and is rewritten, only ever extended, as the log grows. Like C2SP
tlog-tiles, a proof of a tree of n entries reads about log16(n) rows; unlike them, a tile keeps
its inner levels too, so serving a proof hashes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from passport.core.log.merkle import HASH_SIZE, NodeId, node_hash

HEIGHT = 4
WIDTH = 1 << HEIGHT  # level-4t subtrees per tile
TileId = tuple[int, int]  # (t, i): tile level, index at that level
MAX_TILE_LEVEL = 63 // HEIGHT  # a 2**63-entry log has levels 0-63


# _STARTS[width][r]: where level 4t+r begins in a tile of `width`, in hashes (r = HEIGHT: its
# length). A table, as a proof looks up about 17 slots.
_STARTS = [[sum(w >> k for k in range(r)) for r in range(HEIGHT + 1)] for w in range(WIDTH + 1)]
# _SHAPES[width]: (level above the tile's lowest, position in the tile) of each hash it holds.
_SHAPES = [tuple((r, at) for r in range(HEIGHT) for at in range(w >> r)) for w in range(WIDTH + 1)]


def tile_of(node: NodeId) -> TileId:
    """Return the tile that holds perfect subtree `node`."""
    level, index = node
    t, r = divmod(level, HEIGHT)
    return t, index >> (HEIGHT - r)


def slot(node: NodeId, width: int) -> int | None:
    """Return where `node`'s hash lies in its tile of `width`, or None if the tile lacks it."""
    level, index = node
    r = level % HEIGHT
    position = index & ((WIDTH >> r) - 1)
    if position >= width >> r:
        return None
    return _STARTS[width][r] + position


def hash_in(node: NodeId, width: int, data: bytes) -> bytes | None:
    """Return `node`'s hash from the bytes of its tile of `width`, or None if it lacks it."""
    at = slot(node, width)
    return None if at is None else data[at * HASH_SIZE : (at + 1) * HASH_SIZE]


def tile_length(width: int) -> int:
    """Return the byte length of a tile of `width`."""
    return HASH_SIZE * _STARTS[width][HEIGHT]


def nodes_of(tile: TileId, width: int) -> list[NodeId]:
    """Return the perfect subtrees a tile of `width` holds, in the order of its hashes."""
    t, i = tile
    return [(HEIGHT * t + r, (i << (HEIGHT - r)) + at) for r, at in _SHAPES[width]]


def width_at(tile: TileId, size: int) -> int:
    """Return the tile's width in a log of `size` entries (0: the tile does not exist yet)."""
    t, i = tile
    return max(0, min(WIDTH, (size >> (HEIGHT * t)) - (i << HEIGHT)))


def edge_tiles(size: int) -> list[tuple[TileId, int]]:
    """Return the partial tiles of a log of `size` entries, with their widths, lowest first.

    Every perfect subtree of the log's frontier lies in one of them, so they are all an append
    needs to read."""
    edge, t = [], 0
    while size >> (HEIGHT * t):
        complete = size >> (HEIGHT * t)  # the complete subtrees at level 4t
        if complete % WIDTH:
            edge.append(((t, complete >> HEIGHT), complete % WIDTH))
        t += 1
    return edge


def pack(tile: TileId, width: int, hashes: Mapping[NodeId, bytes]) -> bytes:
    """Return the bytes of a tile of `width`, its hashes taken from `hashes`."""
    t, i = tile  # nodes_of, inlined: an append packs the edge tiles every time
    return b"".join(
        [hashes[(HEIGHT * t + r, (i << (HEIGHT - r)) + at)] for r, at in _SHAPES[width]]
    )


def unpack(tile: TileId, width: object, data: object) -> dict[NodeId, bytes]:
    """Return the hashes a stored tile holds; nothing if its width or length is malformed."""
    if type(width) is not int or not 0 < width <= WIDTH:
        return {}
    if type(data) is not bytes or len(data) != tile_length(width):
        return {}
    return {
        node: data[at : at + HASH_SIZE]
        for node, at in zip(nodes_of(tile, width), range(0, len(data), HASH_SIZE), strict=True)
    }


def grown_tiles(
    size: int, new_size: int, hashes: Mapping[NodeId, bytes]
) -> list[tuple[TileId, int, int, bytes]]:
    """Return (tile, old width, new width, bytes) of every tile that growing the log from
    `size` to `new_size` entries changed: the partial tiles it widened (old width > 0) and the
    tiles it began (old width 0)."""
    rows, t = [], 0
    while (before := size >> (HEIGHT * t)) < (after := new_size >> (HEIGHT * t)):
        for index in range(before >> HEIGHT, ((after - 1) >> HEIGHT) + 1):
            tile = (t, index)
            width = width_at(tile, new_size)
            rows.append((tile, width_at(tile, size), width, pack(tile, width, hashes)))
        t += 1
    return rows


def tiles_from_leaves(leaf_hashes: Iterable[bytes]) -> Iterator[tuple[TileId, int, bytes]]:
    """Yield (tile, width, bytes) of every tile of the log with these leaf hashes.

    O(n) hashes and O(log n) memory: the tiles a migration or a test writes from scratch."""
    bottoms: list[list[bytes]] = []  # per tile level, the open tile's level-4t hashes
    counts: list[int] = []  # per tile level, the tiles already finished

    def push(t: int, digest: bytes) -> Iterator[tuple[TileId, int, bytes]]:
        if t == len(bottoms):
            bottoms.append([])
            counts.append(0)
        bottoms[t].append(digest)
        if len(bottoms[t]) == WIDTH:
            data, top = _build(bottoms[t])
            yield (t, counts[t]), WIDTH, data
            bottoms[t], counts[t] = [], counts[t] + 1
            yield from push(t + 1, top)

    for digest in leaf_hashes:
        yield from push(0, digest)
    for t, bottom in enumerate(bottoms):
        if bottom:
            yield (t, counts[t]), len(bottom), _build(bottom)[0]


def _build(bottom: list[bytes]) -> tuple[bytes, bytes]:
    """Return a tile's bytes from its level-4t hashes, and the hash above it if it is full."""
    sections, level = [bottom], bottom
    for _ in range(HEIGHT):
        level = [node_hash(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        sections.append(level)
    top = sections.pop()
    return b"".join(b"".join(section) for section in sections), (top[0] if top else b"")
