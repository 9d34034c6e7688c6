"""Signed checkpoints: at most one a second, each consistent with the last, all durable."""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from passport.core.errors import LedgerInconsistent
from passport.core.log.merkle import consistency_proof, root, verify_consistency
from passport.core.log.note import Checkpoint, open_checkpoint, sign_note
from passport.services.ledger.log import begin_write, committed_size
from passport.services.ledger.logkey import LOG_DIR, LogKey, read_witness, write_witness
from passport.services.ledger.nodes import StoredNodes
from passport.store.tables import CheckpointRow

MIN_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Published:
    """A signed checkpoint as stored."""

    size: int
    root: bytes
    note: bytes


def latest(sess: Session) -> CheckpointRow | None:
    """Return the newest stored checkpoint."""
    return sess.exec(select(CheckpointRow).order_by(col(CheckpointRow.size).desc())).first()


def due(sess: Session, *, at: datetime) -> bool:
    """Whether a checkpoint is due: the committed log has outgrown the newest checkpoint, and
    that one is at least MIN_INTERVAL old (or there is none). Two reads, no lock."""
    size = committed_size(sess)
    last = latest(sess)
    if last is None:
        return size > 0
    return size > last.size and at - _aware(last.created_at) >= MIN_INTERVAL


def opened(row: CheckpointRow, key: LogKey) -> Checkpoint:
    """Verify a stored checkpoint's signature and return it parsed."""
    return open_checkpoint(row.note.encode(), name=key.name, public_key=key.public_key)


def check_against(sess: Session, note: bytes, key: LogKey) -> Checkpoint:
    """Check the stored tree contains the tree `note` commits to; return that checkpoint."""
    signed = open_checkpoint(note, name=key.name, public_key=key.public_key)
    size = committed_size(sess)
    if signed.size > size:
        raise LedgerInconsistent(
            f"the log has {size} entries but checkpoint {signed.size} was signed: "
            "the database is behind what was published (restored from an old copy?)"
        )
    if signed.size and root(signed.size, StoredNodes(sess)) != signed.root_hash:
        raise LedgerInconsistent(
            f"the stored tree at size {signed.size} differs from the signed checkpoint: a fork"
        )
    return signed


def publish(
    engine: Engine, key: LogKey, keys_dir: Path, *, at: datetime, force: bool = False
) -> Published | None:
    """Sign a checkpoint of the committed log if it grew and a second has passed (or forced).

    Before signing: the new tree must be consistent with the newest stored checkpoint and with
    the one kept beside the log key, so two inconsistent checkpoints are never signed.
    """
    lock_path = keys_dir / LOG_DIR / "checkpoint.lock"
    with lock_path.open("a") as lock, Session(engine) as sess:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one signer per host; the DB keeps hosts apart
        # Read and insert in one writing transaction: on SQLite a reading transaction cannot
        # become a writer once another process has committed ("database is locked").
        begin_write(sess)
        last = latest(sess)
        if last is not None and not force and at - _aware(last.created_at) < MIN_INTERVAL:
            return None
        size = committed_size(sess)  # committed rows only: never sign what is not durable
        if last is not None and size <= last.size:
            return _as_published(last, key)
        reader = StoredNodes(sess)
        new_root = root(size, reader)
        for previous in _previous(sess, last, keys_dir, key):
            if previous.size:
                verify_consistency(
                    old_size=previous.size,
                    new_size=size,
                    old_root=previous.root_hash,
                    new_root=new_root,
                    proof=consistency_proof(previous.size, size, reader),
                )
        body = Checkpoint(origin=key.name, size=size, root_hash=new_root).body()
        note = sign_note(body, name=key.name, private_key=key.private_key)
        sess.add(CheckpointRow(size=size, note=note.decode(), created_at=at))
        try:
            sess.commit()
        except IntegrityError:  # another worker signed this very size: same tree, same root
            sess.rollback()
            stored = sess.get(CheckpointRow, size)
            if stored is None:
                raise LedgerInconsistent(
                    f"checkpoint {size} was neither stored nor found"
                ) from None
            return _as_published(stored, key)
        witness = read_witness(keys_dir)
        if witness is None or _size_of(witness, key) < size:
            write_witness(keys_dir, note)
        return Published(size=size, root=new_root, note=note)


def _previous(
    sess: Session, last: CheckpointRow | None, keys_dir: Path, key: LogKey
) -> list[Checkpoint]:
    found = [opened(last, key)] if last is not None else []
    witness = read_witness(keys_dir)
    if witness is not None:
        kept = open_checkpoint(witness, name=key.name, public_key=key.public_key)
        if kept.size > committed_size(sess):
            raise LedgerInconsistent(
                f"refusing to sign: checkpoint {kept.size} was published but the log is smaller"
            )
        found.append(kept)
    return found


def _size_of(note: bytes, key: LogKey) -> int:
    return open_checkpoint(note, name=key.name, public_key=key.public_key).size


def _as_published(row: CheckpointRow, key: LogKey) -> Published:
    checkpoint = opened(row, key)
    return Published(size=checkpoint.size, root=checkpoint.root_hash, note=row.note.encode())


def _aware(when: datetime) -> datetime:
    from datetime import UTC

    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
