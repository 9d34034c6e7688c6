"""The sequencer: append entries to the RFC 9162 log under one lock row, store node hashes."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session

from passport.core.errors import InvalidInput, LedgerInconsistent, NotFound
from passport.core.merkle import HASH_SIZE, leaf_hash, node_hash
from passport.db import driver_query, stored_bytes
from passport.tables import LedgerEntryRow, table_of

HEAD_ID = 1
NodeId = tuple[int, int]
# Perfect subtrees below this level are not stored: any of them is recomputed from the leaf
# hashes (stored in the entry rows) of at most 2**LOW_LEVELS entries. That keeps one node row
# per 8 entries instead of two per entry, and a proof still reads storage in one statement.
LOW_LEVELS = 4
ENTRY_COLUMNS = ("idx", "kind", "entry", "passport_id", "created_at", "leaf_hash")


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append: its kind, exact bytes and the passport it belongs to, if any."""

    kind: str
    entry: bytes
    passport_id: str | None = None


def begin_write(sess: Session) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE)."""
    # On SQLite a deferred transaction that reads and then writes can fail to upgrade its
    # lock; taking the write lock at BEGIN serialises writers instead. PostgreSQL ignores it.
    sess.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def lock_head(sess: Session) -> int:
    """Take the sequencer's lock row (FOR UPDATE) and return the log's size."""
    conn = sess.connection()
    # SQLite has no FOR UPDATE: there the writer holds the database lock from BEGIN IMMEDIATE.
    lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
    return _head_size(conn, lock)


def _head_size(conn: Connection, lock: str = "") -> int:
    rows = driver_query(conn, f"SELECT size FROM ledger_head WHERE id = {HEAD_ID}{lock}")
    if not rows:
        raise LedgerInconsistent("the ledger head row is missing: run `dpp init`")
    return int(rows[0][0])


@dataclass(slots=True)
class _Frontier:
    """The frontier hashes after this transaction's last append, so the next need no reads."""

    transaction: object
    size: int
    nodes: dict[NodeId, bytes]


_FRONTIER = "passport.ledger.frontier"


def _locked_head(sess: Session) -> tuple[int, dict[NodeId, bytes]]:
    """Lock the head; return the log's size and the frontier hashes at that size.

    An append left both in `sess.info` for the rest of its transaction, which holds the lock
    from then on: the next append needs no reads. Any rollback, a savepoint's too, forgets
    them (`_forget_frontier`), since it may undo appends and, on PostgreSQL, the row lock.
    """
    kept = sess.info.get(_FRONTIER)
    if kept is not None and kept.transaction is sess.get_transaction():
        return kept.size, kept.nodes
    size = lock_head(sess)
    return size, read_nodes(sess, frontier_ids(size)) if size else {}


@event.listens_for(Session, "after_soft_rollback")
def _forget_frontier(sess: Session, _previous: object) -> None:
    sess.info.pop(_FRONTIER, None)


def frontier_ids(size: int) -> list[NodeId]:
    """Return the ids of the perfect subtrees that make up a tree of `size` leaves."""
    ids, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    return ids


# At most this many terms in one statement; a proof of a 2**63-entry log needs 126.
_TERMS = 128


@functools.cache
def _any_of(select: str, term: str, count: int) -> str:
    """Return `select` with `term` OR-ed `count` times: one text per count, prepared once."""
    return select + " OR ".join([term] * count)


# One primary-key lookup per node, each its own SELECT: OR-ed terms make SQLite drop duplicate
# rows through a temporary index, and a row-value IN list can make it scan the whole table.
_NODE = "SELECT level, idx, hash FROM ledger_node WHERE level = ? AND idx = ?"
_LEAF = -1  # the level the leaf-hash part of the statement reports its rows at
_LEAVES = f"SELECT {_LEAF}, idx, leaf_hash FROM ledger_entry WHERE "
_BLOCK_RANGE = "(idx >= ? AND idx < ?)"
_BLOCK = 1 << LOW_LEVELS


@functools.cache
def _read_sql(nodes: int, blocks: int) -> str:
    """One statement for `nodes` stored nodes and the leaf hashes of `blocks` blocks: one
    round trip per proof, which counts on a networked PostgreSQL."""
    parts = [_NODE] * nodes
    if blocks:
        parts.append(_any_of(_LEAVES, _BLOCK_RANGE, blocks))
    return " UNION ALL ".join(parts)


def _read_storage(
    conn: Connection, high: Sequence[NodeId], low: Sequence[NodeId]
) -> dict[NodeId, bytes]:
    """Read the stored nodes `high`; recompute the low perfect subtrees `low` from the leaf
    hashes of the blocks of 2**LOW_LEVELS entries they lie in. Only well-formed hashes are
    returned: a node, or a low subtree over a leaf hash, that is missing or malformed is left
    out (read_nodes reports it missing)."""
    blocks = sorted({(index << level) // _BLOCK for level, index in low})
    found: dict[NodeId, bytes] = {}
    leaves: dict[int, bytes] = {}
    for at in range(0, max(len(high), len(blocks)), _TERMS):
        nodes, part = high[at : at + _TERMS], blocks[at : at + _TERMS]
        params = [value for node in nodes for value in node]
        params += [i for b in part for i in (b * _BLOCK, (b + 1) * _BLOCK)]
        for level, index, digest in driver_query(conn, _read_sql(len(nodes), len(part)), params):
            if type(digest) is not bytes:  # the drivers return bytes; a memoryview, or TEXT
                digest = stored_bytes(digest)  # in a tampered SQLite file, is converted here
            if len(digest) != HASH_SIZE:
                continue
            if level == _LEAF:
                leaves[index] = digest
            else:
                found[(level, index)] = digest
    for level, index in low:
        # Only the subtrees asked for: a proof's low siblings cost 1 + 3 + 7 hashes, not 15.
        first = index << level
        hashes = [leaves[i] for i in range(first, first + (1 << level)) if i in leaves]
        if len(hashes) != 1 << level:
            continue
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        found[(level, index)] = hashes[0]
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


def ensure_committed(sess: Session, size: int, field: str = "tree_size") -> NodeCache:
    """Raise unless the first `size` entries are committed; return the node cache."""
    cache = node_cache(sess)
    if size > cache.committed:
        committed = committed_size(sess)
        cache.committed = max(cache.committed, committed)
        if size > committed:
            raise InvalidInput(f"{field} is beyond the log", errors={field: ["too large"]})
    return cache


def read_nodes(
    sess: Session, ids: Sequence[NodeId], cache: NodeCache | None = None
) -> dict[NodeId, bytes]:
    """Return the hashes of the perfect subtrees `ids`, reading storage in one statement (stored
    nodes and the leaf hashes under the low ones; one per 128 of either, more than a proof
    needs). With a cache (proofs only), cached ones are not read and the ones read are kept."""
    wanted = list(dict.fromkeys(ids))
    cached: dict[NodeId, bytes] = {}
    if cache is not None:
        cached, wanted = cache.split(wanted)
        if not wanted:
            return cached
    conn = sess.connection()
    high = [node for node in wanted if node[0] >= LOW_LEVELS]
    low = [node for node in wanted if node[0] < LOW_LEVELS]
    found = _read_storage(conn, high, low)
    missing = [node for node in wanted if node not in found]  # found holds only 32-byte hashes
    if missing:
        raise LedgerInconsistent(f"stored node hashes missing or malformed: {missing[:4]}")
    if cache is not None:
        cache.add(found, cache.committed)
        found.update(cached)
    return found


def insert_many(conn: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """One executemany straight to the driver: no per-row parameter processing."""
    marks = ", ".join(["?"] * len(columns))
    driver_query(
        conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows, many=True
    )


def stored_time(conn: Connection, at: datetime) -> Any:
    """Return `at` as the driver stores it in a `created_at` column (bound once per batch)."""
    column = table_of(LedgerEntryRow).c.created_at
    process = column.type.bind_processor(conn.dialect)
    return process(at) if process else at


def append(sess: Session, entries: Sequence[NewEntry], *, at: datetime) -> list[int]:
    """Append `entries` in the caller's transaction and return their indices.

    The caller commits: entries, node hashes and the new size become durable together.
    """
    if not entries:
        return []
    size, frontier = _locked_head(sess)
    nodes = dict(frontier)
    conn = sess.connection()
    when = stored_time(conn, at)
    rows, node_rows = [], []
    for offset, item in enumerate(entries):
        index = size + offset
        digest = leaf = leaf_hash(item.entry)
        nodes[(0, index)] = digest
        level = 1
        # Leaf `index` completes the perfect subtree at `level` whenever index + 1 is a
        # multiple of 2**level; its left half is either in this batch or on the frontier.
        while (index + 1) % (1 << level) == 0:
            parent = index >> level
            digest = node_hash(nodes[(level - 1, 2 * parent)], digest)
            nodes[(level, parent)] = digest
            if level >= LOW_LEVELS:
                node_rows.append((level, parent, digest))
            level += 1
        rows.append((index, item.kind, item.entry, item.passport_id, when, leaf))
    insert_many(conn, "ledger_entry", ENTRY_COLUMNS, rows)
    if node_rows:
        insert_many(conn, "ledger_node", ("level", "idx", "hash"), node_rows)
    new_size = size + len(rows)
    driver_query(conn, f"UPDATE ledger_head SET size = ? WHERE id = {HEAD_ID}", [new_size])
    frontier = {node: nodes[node] for node in frontier_ids(new_size)}
    sess.info[_FRONTIER] = _Frontier(sess.get_transaction(), new_size, frontier)
    return list(range(size, new_size))


def committed_size(sess: Session) -> int:
    """Return the size of the log as committed (no lock)."""
    return _head_size(sess.connection())


class StoredNodes:
    """A NodeReader over the stored node hashes: a proof is O(log n) reads in one statement."""

    def __init__(self, sess: Session, cache: NodeCache | None = None) -> None:
        self._sess = sess
        self._cache = cache

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the hashes of the perfect subtrees `ids`."""
        return read_nodes(self._sess, ids, self._cache)


def entry_bytes_at(sess: Session, index: int) -> bytes:
    """Return the exact bytes of entry `index`."""
    row = sess.get(LedgerEntryRow, index) if 0 <= index < 2**62 else None
    if row is None:
        raise NotFound(f"no ledger entry {index}")
    return row.entry
