"""Audit of the tree itself: stored node hashes and signed checkpoints against the entries."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from passport.core.errors import LedgerInconsistent, PassportError
from passport.core.merkle import node_hash
from passport.core.note import Checkpoint, open_checkpoint
from passport.services.ledger import LOW_LEVELS
from passport.services.logkey import LogKey, read_witness
from passport.tables import CheckpointRow, LedgerNodeRow


class AuditFailed(LedgerInconsistent):
    """The audit found a problem; `index` is the first bad entry, when there is one."""

    code = "audit-failed"

    def __init__(self, detail: str, index: int | None = None) -> None:
        super().__init__(detail)
        self.index = index


def levels_of(leaves: list[bytes]) -> list[list[bytes]]:
    """Return every level of perfect-subtree hashes recomputed from the leaves."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def root_at(levels: list[list[bytes]], size: int) -> bytes:
    """Return the root of the first `size` leaves from the perfect subtrees in `levels`."""
    if size == 0:
        return hashlib.sha256(b"").digest()
    parts, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append(levels[level][start >> level])
            start += 1 << level
    digest = parts[-1]
    for part in reversed(parts[:-1]):
        digest = node_hash(part, digest)
    return digest


def check_nodes(sess: Session, levels: list[list[bytes]], size: int) -> None:
    """Every stored node hash equals the recomputed one, and none is missing or extra."""
    for level in range(LOW_LEVELS, len(levels)):
        hashes = levels[level]
        stored = sess.exec(
            select(LedgerNodeRow.idx, LedgerNodeRow.hash)
            .where(LedgerNodeRow.level == level)
            .order_by(col(LedgerNodeRow.idx))
        ).all()
        expected = size >> level
        for position, (idx, digest) in enumerate(stored):
            if idx != position or position >= expected or digest != hashes[position]:
                first = position << level
                raise AuditFailed(
                    f"entry {first}: stored node hash ({level}, {idx}) does not match the entries",
                    first,
                )
        if len(stored) != expected:
            raise AuditFailed(f"level {level} has {len(stored)} stored nodes, expected {expected}")
    stray = sess.exec(
        select(func.count())
        .select_from(LedgerNodeRow)
        .where(
            or_(
                col(LedgerNodeRow.level) >= max(len(levels), LOW_LEVELS),
                col(LedgerNodeRow.level) < LOW_LEVELS,
            )
        )
    ).one()
    if stray:
        raise AuditFailed(f"{stray} stored node hashes lie outside the tree's stored levels")


def check_checkpoints(
    sess: Session, levels: list[list[bytes]], key: LogKey, keys_dir: Path, size: int
) -> int:
    """Every stored checkpoint is signed by the log key and commits to the stored tree."""
    rows = sess.exec(select(CheckpointRow).order_by(col(CheckpointRow.size))).all()
    notes: list[tuple[str, bytes, int | None]] = [
        (f"checkpoint {r.size}", r.note.encode(), r.size) for r in rows
    ]
    witness = read_witness(keys_dir)
    if witness is not None:
        notes.append(("the checkpoint kept beside the log key", witness, None))
    previous_size = 0
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
        if root_at(levels, checkpoint.size) != checkpoint.root_hash:
            first = _first_divergence(checkpoint, previous_size)
            raise AuditFailed(
                f"entry {first}: the stored entries do not give the root of {label} "
                "(changed, reordered or forked entries)",
                first,
            )
        if stored_size is not None:
            previous_size = checkpoint.size
    return len(rows)


def _first_divergence(checkpoint: Checkpoint, verified: int) -> int:
    """Name an entry past the last verified checkpoint: the divergence lies at or after it."""
    return verified if verified < checkpoint.size else max(checkpoint.size - 1, 0)
