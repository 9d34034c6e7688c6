"""Audit of the tree above the worker ranges: stored tiles and signed checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from sqlmodel import Session, col, select

from passport.core.errors import LedgerInconsistent, PassportError
from passport.core.log.merkle import EMPTY_ROOT, fold, node_hash
from passport.core.log.note import Checkpoint, open_checkpoint
from passport.core.log.tiles import (
    HEIGHT,
    MAX_TILE_LEVEL,
    WIDTH,
    TileId,
    hash_in,
    nodes_of,
    width_at,
)
from passport.services.ledger.log import committed_size
from passport.services.ledger.logkey import LogKey, read_witness
from passport.services.ledger.nodes import read_tiles
from passport.store.sql import driver_query
from passport.store.tables import CheckpointRow


class AuditFailed(LedgerInconsistent):
    """The audit found a problem; `index` is the first bad entry, when there is one."""

    code = "audit-failed"

    def __init__(self, detail: str, index: int | None = None) -> None:
        super().__init__(detail)
        self.index = index


@dataclass(frozen=True, slots=True)
class Opened:
    """A checkpoint whose signature verified: where it came from and what it commits to."""

    label: str
    checkpoint: Checkpoint
    stored: bool  # a row of the checkpoint table, not the copy kept beside the log key


def open_checkpoints(sess: Session, key: LogKey, keys_dir: Path, size: int) -> list[Opened]:
    """Every stored checkpoint and the kept one, signed by the log key, none beyond `size`."""
    rows = sess.exec(select(CheckpointRow).order_by(col(CheckpointRow.size))).all()
    notes: list[tuple[str, bytes, int | None]] = [
        (f"checkpoint {r.size}", r.note.encode(), r.size) for r in rows
    ]
    witness = read_witness(keys_dir)
    if witness is not None:
        notes.append(("the checkpoint kept beside the log key", witness, None))
    opened = []
    for label, note, stored_size in notes:
        try:
            checkpoint = open_checkpoint(note, name=key.name, public_key=key.public_key)
        except PassportError as exc:
            raise AuditFailed(f"{label}: {exc.detail}") from exc
        if stored_size is not None and checkpoint.size != stored_size:
            raise AuditFailed(f"{label}: the note is for size {checkpoint.size}")
        if checkpoint.size > size:
            raise AuditFailed(
                f"{label}: signed for {checkpoint.size} entries but only {size} are stored "
                "(entries deleted, or the database restored from an older copy)"
            )
        opened.append(Opened(label, checkpoint, stored_size is not None))
    return opened


def check_roots(opened: list[Opened], root_of: Callable[[int], bytes]) -> None:
    """Each checkpoint's root is the root of the stored entries it covers."""
    verified = 0
    for item in opened:
        checkpoint = item.checkpoint
        if root_of(checkpoint.size) != checkpoint.root_hash:
            # The divergence lies after the last checkpoint that verified.
            first = verified if verified < checkpoint.size else max(checkpoint.size - 1, 0)
            raise AuditFailed(
                f"entry {first}: the stored entries do not give the root of {item.label} "
                "(changed, reordered or forked entries)",
                first,
            )
        if item.stored:
            verified = checkpoint.size


class UpperTree:
    """The perfect subtrees at and above `base` level, built from the worker ranges' roots."""

    def __init__(self, base: int, roots: list[bytes]) -> None:
        self.base = base
        self.levels = [roots]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            pairs = range(0, len(below) - 1, 2)
            self.levels.append([node_hash(below[i], below[i + 1]) for i in pairs])

    def root_of(self, size: int, cut: list[bytes]) -> bytes:
        """The root of the first `size` entries: whole subtrees from here, the rest from `cut`."""
        if size == 0:
            return EMPTY_ROOT
        parts, start = [], 0
        for level in range(size.bit_length() - 1, self.base - 1, -1):
            if size >> level & 1:
                parts.append(self.levels[level - self.base][start >> level])
                start += 1 << level
        return fold(parts + cut)

    def check_stored(self, sess: Session, size: int) -> None:
        """The tiles above the ranges (tile level 2 and up) hold these hashes, and no tile lies
        outside the tree: past the log's head, or wider than the head allows."""
        conn = sess.connection()
        tiles = [
            (t, i)
            for t in range(self.base // HEIGHT, MAX_TILE_LEVEL + 1)
            for i in range(((size >> (HEIGHT * t)) + WIDTH - 1) >> HEIGHT)
        ]  # every tile of tile level 2 and up in a log of `size` entries
        expected = [(tile, width_at(tile, size)) for tile in tiles]
        failure = compare_tiles(
            conn, expected, lambda level, index: self.levels[level - self.base][index]
        )
        if failure is not None:
            raise AuditFailed(f"entry {failure[0]}: {failure[1]}", failure[0])
        # Any tile at or past each level's edge at `size` may only be as wide as the head allows,
        # read after the tiles (they and the head commit together): the log may be growing.
        edges = " OR ".join(
            f"(level = {t} AND (idx < 0 OR idx >= {(size >> (HEIGHT * t)) >> HEIGHT}))"
            for t in range(MAX_TILE_LEVEL + 1)
        )
        beyond = driver_query(
            conn,
            f"SELECT level, idx, width FROM ledger_tile WHERE level < 0 OR level > {MAX_TILE_LEVEL}"
            f" OR {edges}",
        )
        head = committed_size(sess)
        stray = sorted(
            ((t, i) for t, i, width in beyond if not _fits(t, i, width, head)),
            key=lambda tile: [v if type(v) is int else -1 for v in tile],  # malformed first
        )
        if stray:
            raise AuditFailed(f"{len(stray)} stored tiles lie outside the tree, first {stray[0]}")


def _fits(t: object, i: object, width: object, head: int) -> bool:
    """Whether a stored tile's key and width fit a log of `head` entries (a tampered SQLite
    file may hold TEXT or a REAL in any column)."""
    if type(t) is not int or type(i) is not int or type(width) is not int:
        return False
    return 0 <= t <= MAX_TILE_LEVEL and i >= 0 and 0 < width <= width_at((t, i), head)


def compare_tiles(
    conn: Connection,
    expected: list[tuple[TileId, int]],
    hash_of: Callable[[int, int], bytes],
) -> tuple[int, str] | None:
    """Each of the `expected` tiles (with its width) is stored, at least as wide, and holds the
    hashes `hash_of(level, index)` gives; return the first that does not, by the entries."""
    stored = read_tiles(conn, [tile for tile, _width in expected])
    wrong = []
    for tile, width in expected:
        t, i = tile
        found = stored.get(tile)
        if found is None or found[0] < width:
            wrong.append((i << (HEIGHT * (t + 1)), f"stored tile {tile} is missing or malformed"))
            continue
        for level, index in nodes_of(tile, width):
            if hash_in((level, index), *found) != hash_of(level, index):
                problem = f"stored tile {tile}: node ({level}, {index}) does not match the entries"
                wrong.append((index << level, problem))
                break
    return min(wrong, default=None)
