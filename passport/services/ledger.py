"""The sequencer: append entries to the RFC 9162 log under one lock row, store node hashes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, text, update
from sqlmodel import Session, col, select

from passport.core.errors import LedgerInconsistent, NotFound
from passport.core.merkle import leaf_hash, node_hash
from passport.tables import LedgerEntryRow, LedgerHeadRow, LedgerNodeRow, table_of

HEAD_ID = 1
NodeId = tuple[int, int]


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
    head = sess.exec(
        select(LedgerHeadRow).where(LedgerHeadRow.id == HEAD_ID).with_for_update()
    ).first()
    if head is None:
        raise LedgerInconsistent("the ledger head row is missing: run `dpp init`")
    return head.size


def frontier_ids(size: int) -> list[NodeId]:
    """Return the ids of the perfect subtrees that make up a tree of `size` leaves."""
    ids, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def read_nodes(sess: Session, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Return the stored hashes of the perfect subtrees `ids` in one query."""
    found: dict[NodeId, bytes] = {}
    wanted = list(dict.fromkeys(ids))
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        by_level.setdefault(level, []).append(index)
    # One `level = L AND idx IN (…)` term per level: both databases answer it from the
    # primary key, where a row-value IN list can make SQLite scan the whole table. The SQL is
    # written out with integer literals (ints only, so nothing to inject): its shape changes
    # with every proof, and compiling a fresh SQLAlchemy statement each time cost more than
    # the query itself.
    if by_level:
        terms = " OR ".join(
            f"(level = {int(level)} AND idx IN ({','.join(str(int(i)) for i in indices)}))"
            for level, indices in by_level.items()
        )
        rows = sess.execute(text(f"SELECT level, idx, hash FROM ledger_node WHERE {terms}"))
        found.update({(level, index): bytes(digest) for level, index, digest in rows})
    missing = [i for i in wanted if i not in found]
    if missing:
        raise LedgerInconsistent(f"stored node hashes missing: {missing[:4]}")
    return found


def append(sess: Session, entries: Sequence[NewEntry], *, at: datetime) -> list[int]:
    """Append `entries` in the caller's transaction and return their indices.

    The caller commits: entries, node hashes and the new size become durable together.
    """
    if not entries:
        return []
    size = lock_head(sess)
    nodes: dict[NodeId, bytes] = read_nodes(sess, frontier_ids(size)) if size else {}
    rows, node_rows = [], []
    for offset, item in enumerate(entries):
        index = size + offset
        digest = leaf_hash(item.entry)
        nodes[(0, index)] = digest
        node_rows.append({"level": 0, "idx": index, "hash": digest})
        level = 1
        # Leaf `index` completes the perfect subtree at `level` whenever index + 1 is a
        # multiple of 2**level; its left half is either in this batch or on the frontier.
        while (index + 1) % (1 << level) == 0:
            parent = index >> level
            digest = node_hash(nodes[(level - 1, 2 * parent)], nodes[(level - 1, 2 * parent + 1)])
            nodes[(level, parent)] = digest
            node_rows.append({"level": level, "idx": parent, "hash": digest})
            level += 1
        rows.append(
            {
                "idx": index,
                "kind": item.kind,
                "entry": item.entry,
                "passport_id": item.passport_id,
                "created_at": at,
            }
        )
    # Core inserts on the session's connection: no ORM unit-of-work bookkeeping per row.
    connection = sess.connection()
    connection.execute(insert(table_of(LedgerEntryRow)), rows)
    connection.execute(insert(table_of(LedgerNodeRow)), node_rows)
    sess.execute(
        update(LedgerHeadRow).where(col(LedgerHeadRow.id) == HEAD_ID).values(size=size + len(rows))
    )
    return list(range(size, size + len(rows)))


def committed_size(sess: Session) -> int:
    """Return the size of the log as committed (no lock)."""
    head = sess.get(LedgerHeadRow, HEAD_ID)
    if head is None:
        raise LedgerInconsistent("the ledger head row is missing: run `dpp init`")
    return head.size


class StoredNodes:
    """A NodeReader over the stored node hashes: proofs are O(log n) reads, one query each."""

    def __init__(self, sess: Session) -> None:
        self._sess = sess

    def nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        """Return the hashes of the perfect subtrees `ids`."""
        return read_nodes(self._sess, ids)


def entry_bytes_at(sess: Session, index: int) -> bytes:
    """Return the exact bytes of entry `index`."""
    row = sess.get(LedgerEntryRow, index) if 0 <= index < 2**62 else None
    if row is None:
        raise NotFound(f"no ledger entry {index}")
    return row.entry
