"""Audit of the tree above the worker ranges: stored node hashes and signed checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from passport.core.errors import LedgerInconsistent, PassportError
from passport.core.merkle import EMPTY_ROOT, fold, node_hash
from passport.core.note import Checkpoint, open_checkpoint
from passport.db import stored_bytes
from passport.services.ledger import LOW_LEVELS
from passport.services.logkey import LogKey, read_witness
from passport.tables import CheckpointRow


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
        """Stored nodes above the ranges match; none lies outside the stored levels or the log."""
        conn = sess.connection()
        above = conn.exec_driver_sql(
            f"SELECT level, idx, hash FROM ledger_node WHERE level > {self.base}"
        )
        stored = {(level, idx): stored_bytes(digest) for level, idx, digest in above}
        expected = {
            (self.base + offset, idx): digest
            for offset, hashes in enumerate(self.levels)
            for idx, digest in enumerate(hashes)
            if offset
        }
        wrong = [node for node, digest in expected.items() if stored.get(node) != digest]
        if wrong:
            level, idx = min(wrong, key=lambda node: node[1] << node[0])
            problem = "does not match the entries" if (level, idx) in stored else "is missing"
            raise AuditFailed(
                f"entry {idx << level}: stored node hash ({level}, {idx}) {problem}", idx << level
            )
        # Past the log's end, or below the stored levels (every level is at most 63).
        beyond = " OR ".join(
            f"(level = {level} AND idx >= {size >> level})" for level in range(LOW_LEVELS, 64)
        )
        stray = conn.exec_driver_sql(
            f"SELECT COUNT(*) FROM ledger_node WHERE level < {LOW_LEVELS} OR level > 63 OR {beyond}"
        ).scalar()
        if stray:
            raise AuditFailed(f"{stray} stored node hashes lie outside the tree's stored levels")
