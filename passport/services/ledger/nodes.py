"""Reading the tree's node hashes from their tiles: for proofs, checkpoints and the audit."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from passport.core.errors import LedgerInconsistent
from passport.core.log.merkle import NodeId
from passport.core.log.tiles import WIDTH, TileId, hash_in, tile_length, tile_of
from passport.store.sql import driver_query, stored_bytes

# At most this many tiles in one statement; a proof of a 2**63-entry log reads 16.
_TERMS = 128
# One primary-key lookup per tile, each its own SELECT, joined by UNION ALL: one round trip.
_TILE = "SELECT level, idx, width, hashes FROM ledger_tile WHERE level = ? AND idx = ?"


@functools.cache
def _tiles_sql(count: int) -> str:
    """One statement for `count` tiles: one text per count, prepared once by the driver."""
    return " UNION ALL ".join([_TILE] * count)


def read_tiles(conn: Connection, tiles: Sequence[TileId]) -> dict[TileId, tuple[int, bytes]]:
    """Return (width, bytes) of the stored `tiles` that are well formed; the rest are left out
    (a caller reports them missing)."""
    found = {}
    for at in range(0, len(tiles), _TERMS):
        part = tiles[at : at + _TERMS]
        params = [value for tile in part for value in tile]
        for level, index, width, data in driver_query(conn, _tiles_sql(len(part)), params):
            if type(data) is not bytes:  # the drivers return bytes; a memoryview, or TEXT
                data = stored_bytes(data)  # in a tampered SQLite file, is converted here
            if type(width) is int and 0 < width <= WIDTH and len(data) == tile_length(width):
                found[(level, index)] = (width, data)
    return found


class NodeCache:
    """Committed perfect-subtree hashes already read, for serving proofs (one per engine).

    A committed perfect subtree never changes (the log is append-only), so a proof may reuse
    its hash instead of reading it again, as CT logs let CDNs cache full tiles. Only proofs
    read through the cache: appending, signing checkpoints, the start-up check and the audit
    always read storage, so a changed or restored database is never judged from memory.
    Bounded: the oldest half is dropped when full.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._hashes: dict[NodeId, bytes] = {}
        self._capacity = capacity
        self._lock = threading.Lock()
        self.committed = 0  # the largest log size seen committed: it never shrinks

    def split(self, ids: Sequence[NodeId]) -> tuple[dict[NodeId, bytes], list[NodeId]]:
        """Return (the cached hashes of `ids`, the ids not cached)."""
        if not self._hashes:
            return {}, list(ids)
        found = {}
        for node in ids:
            digest = self._hashes.get(node)  # one lookup: another thread may be evicting
            if digest is not None:
                found[node] = digest
        return found, [node for node in ids if node not in found]

    def add(self, hashes: Mapping[NodeId, bytes], committed: int) -> None:
        """Keep `hashes` of subtrees that lie wholly inside the first `committed` entries."""
        if not self._capacity:
            return
        with self._lock:
            if len(self._hashes) + len(hashes) > self._capacity:
                for node in list(self._hashes)[: self._capacity // 2]:
                    del self._hashes[node]
            for (level, index), digest in hashes.items():
                if (index + 1) << level <= committed:
                    self._hashes[(level, index)] = digest


_caches: WeakKeyDictionary[Engine, NodeCache] = WeakKeyDictionary()
_caches_lock = threading.Lock()


def node_cache(sess: Session) -> NodeCache:
    """Return the node cache of the session's database."""
    engine = sess.get_bind().engine
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = NodeCache()
        return cache


def read_nodes(
    sess: Session, ids: Sequence[NodeId], cache: NodeCache | None = None
) -> dict[NodeId, bytes]:
    """Return the hashes of the perfect subtrees `ids`, reading their tiles in one statement
    (one per 128 tiles, more than a proof needs). With a cache (proofs only), cached ones are
    not read and the ones read are kept."""
    wanted = list(dict.fromkeys(ids))
    cached: dict[NodeId, bytes] = {}
    if cache is not None:
        cached, wanted = cache.split(wanted)
        if not wanted:
            return cached
    located = [(node, tile_of(node)) for node in wanted]
    tiles = read_tiles(sess.connection(), list(dict.fromkeys(tile for _node, tile in located)))
    found, missing = {}, []
    for node, tile in located:
        stored = tiles.get(tile)
        digest = None if stored is None else hash_in(node, *stored)
        if digest is None:
            missing.append(node)
        else:
            found[node] = digest
    if missing:
        raise LedgerInconsistent(f"stored node hashes missing or malformed: {missing[:4]}")
    if cache is not None:
        cache.add(found, cache.committed)
        found.update(cached)
    return found


class StoredNodes:
    """A NodeReader over the stored node hashes: a proof is O(log n) reads in one statement."""

    def __init__(self, sess: Session, cache: NodeCache | None = None) -> None:
        self._sess = sess
        self._cache = cache

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the hashes of the perfect subtrees `ids`."""
        return read_nodes(self._sess, ids, self._cache)
