"""The sequencer: append entries to the RFC 9162 log under one lock row, store its tiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event
from sqlmodel import Session

from passport.core.errors import LedgerInconsistent, NotFound
from passport.core.log.merkle import NodeId, leaf_hash, node_hash
from passport.core.log.tiles import (
    HEIGHT,
    edge_tiles,
    grown_tiles,
    nodes_of,
    unpack,
)
from passport.services.ledger.nodes import read_tiles
from passport.store.sql import driver_query
from passport.store.tables import LedgerEntryRow, table_of

HEAD_ID = 1

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
    """The edge tiles' hashes after this transaction's last append, so the next needs no reads."""

    transaction: object
    size: int
    nodes: dict[NodeId, bytes]


_FRONTIER = "passport.ledger.frontier"


def _locked_head(sess: Session) -> tuple[int, dict[NodeId, bytes]]:
    """Lock the head; return the log's size and the hashes of its edge tiles at that size.

    An append left both in `sess.info` for the rest of its transaction, which holds the lock
    from then on: the next append needs no reads. Any rollback, a savepoint's too, forgets
    them (`_forget_frontier`), since it may undo appends and, on PostgreSQL, the row lock.
    """
    kept = sess.info.get(_FRONTIER)
    if kept is not None and kept.transaction is sess.get_transaction():
        return kept.size, kept.nodes
    size = lock_head(sess)
    return size, _edge_nodes(sess.connection(), size)


def _edge_nodes(conn: Connection, size: int) -> dict[NodeId, bytes]:
    """Return every hash in the log's partial tiles: they hold the frontier, and the next
    append rewrites them whole."""
    edge = edge_tiles(size)
    stored = read_tiles(conn, [tile for tile, _width in edge])
    nodes: dict[NodeId, bytes] = {}
    for tile, width in edge:
        if tile not in stored or stored[tile][0] != width:
            raise LedgerInconsistent(f"stored tile {tile} is missing or malformed")
        nodes.update(unpack(tile, width, stored[tile][1]))
    return nodes


@event.listens_for(Session, "after_soft_rollback")
def _forget_frontier(sess: Session, _previous: object) -> None:
    sess.info.pop(_FRONTIER, None)


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
    if process:
        return process(at)
    # sqlite3 would store the text its default adapter makes, `isoformat(" ")`, once per row
    # (a tenth of a batched append's time); made here once per batch, the same text.
    return at.isoformat(" ") if conn.dialect.name == "sqlite" else at


# A tile is written whole: inserted when the log reaches it, rewritten wider as it fills. The
# width it had must still be stored: a tile planted or changed under the log fails the append.
_WIDEN_TILE = (
    "UPDATE ledger_tile SET width = ?, hashes = ? WHERE level = ? AND idx = ? AND width = ?"
)


def append(sess: Session, entries: Sequence[NewEntry], *, at: datetime) -> list[int]:
    """Append `entries` in the caller's transaction and return their indices.

    The caller commits: entries, tiles and the new size become durable together.
    """
    if not entries:
        return []
    size, edge = _locked_head(sess)
    nodes = dict(edge)
    conn = sess.connection()
    when = stored_time(conn, at)
    rows = []
    for offset, item in enumerate(entries):
        index = size + offset
        digest = leaf = leaf_hash(item.entry)
        nodes[(0, index)] = digest
        level = 1
        # Leaf `index` completes the perfect subtree at `level` whenever index + 1 is a
        # multiple of 2**level; its left half is either in this batch or in an edge tile.
        while (index + 1) % (1 << level) == 0:
            parent = index >> level
            digest = node_hash(nodes[(level - 1, 2 * parent)], digest)
            nodes[(level, parent)] = digest
            level += 1
        rows.append((index, item.kind, item.entry, item.passport_id, when, leaf))
    insert_many(conn, "ledger_entry", ENTRY_COLUMNS, rows)
    new_size = size + len(rows)
    begun = []
    for (t, i), old, width, data in grown_tiles(size, new_size, nodes):
        if not old:
            begun.append((t, i, width, data))
        elif driver_query(conn, _WIDEN_TILE, [width, data, t, i, old], rowcount=True) != 1:
            raise LedgerInconsistent(f"stored tile {(t, i)} is not as the log left it")
    if begun:
        insert_many(conn, "ledger_tile", ("level", "idx", "width", "hashes"), begun)
    driver_query(conn, f"UPDATE ledger_head SET size = ? WHERE id = {HEAD_ID}", [new_size])
    if new_size >> HEIGHT != size >> HEIGHT:  # a tile was completed: keep only the edge's
        nodes = {
            node: nodes[node]
            for tile, width in edge_tiles(new_size)
            for node in nodes_of(tile, width)
        }
    sess.info[_FRONTIER] = _Frontier(sess.get_transaction(), new_size, nodes)
    return list(range(size, new_size))


def committed_size(sess: Session) -> int:
    """Return the size of the log as committed (no lock)."""
    return _head_size(sess.connection())


def entry_bytes_at(sess: Session, index: int) -> bytes:
    """Return the exact bytes of entry `index`."""
    row = sess.get(LedgerEntryRow, index) if 0 <= index < 2**62 else None
    if row is None:
        raise NotFound(f"no ledger entry {index}")
    return row.entry
