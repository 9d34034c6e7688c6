"""`dpp audit`: re-verify the whole stored log and everything served from it, on all cores."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from passport.core.canonical import canonicalize
from passport.core.credentials import check_restricted, entry_bytes
from passport.core.dataintegrity import verify_credential
from passport.core.errors import LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.keylog import KeyHistory
from passport.core.kinds import KEY_KINDS, EntryKind
from passport.core.merkle import leaf_hash, node_hash
from passport.core.multibase import encode_multikey
from passport.core.note import open_checkpoint
from passport.services.ledger import committed_size
from passport.services.logkey import LogKey, read_witness
from passport.services.orgs import signing_method
from passport.tables import (
    CheckpointRow,
    HistoryEntryRow,
    LedgerEntryRow,
    LedgerNodeRow,
    OrganisationRow,
    OrgKeyRow,
    RestrictedCredentialRow,
)

CHUNK = 2000
Progress = Callable[[str, int], None]


class AuditFailed(LedgerInconsistent):
    """The audit found a problem; `index` is the first bad entry, when there is one."""

    code = "audit-failed"

    def __init__(self, detail: str, index: int | None = None) -> None:
        super().__init__(detail)
        self.index = index


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a passing audit checked."""

    entries: int
    checkpoints: int
    signatures: int


def _verify_chunk(tasks: list[tuple[int, bytes, bytes]]) -> tuple[int, str] | None:
    """Verify (index, credential JSON, public key) signatures; return the first failure."""
    for index, credential, public_key in tasks:
        try:
            verify_credential(json.loads(credential), resolve_key=_fixed(public_key))
        except PassportError as exc:
            return index, exc.detail
    return None


def _fixed(public_key: bytes) -> Callable[[str], bytes]:
    return lambda _method: public_key


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _root(levels: list[list[bytes]], size: int) -> bytes:
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


def _entries(sess: Session) -> Iterator[LedgerEntryRow]:
    offset = 0
    while True:
        rows = sess.exec(
            select(LedgerEntryRow).order_by(col(LedgerEntryRow.idx)).offset(offset).limit(CHUNK)
        ).all()
        if not rows:
            return
        yield from rows
        offset += len(rows)


def audit(
    sess: Session,
    key: LogKey,
    keys_dir: Path,
    *,
    base_url: str,
    workers: int | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Run every check; raise AuditFailed naming the first bad entry."""
    size = committed_size(sess)
    leaves: list[bytes] = []
    keys = KeyHistory()
    passport_entries: dict[int, tuple[str, dict[str, Any]]] = {}
    signatures = 0
    failures: list[tuple[int, str]] = []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = []
        tasks: list[tuple[int, bytes, bytes]] = []
        for row in _entries(sess):
            index = len(leaves)
            if row.idx != index:
                raise AuditFailed(f"entry {index}: missing (next stored index is {row.idx})", index)
            try:
                body = json.loads(row.entry)
                if canonicalize(body) != row.entry:
                    raise LedgerInconsistent("not in canonical (JCS) form")
                if body.get("v") != 1 or body.get("kind") != row.kind:
                    raise LedgerInconsistent("version or kind does not match its row")
                if row.kind in KEY_KINDS:
                    keys.apply(index, row.kind, body["key"])
                elif row.kind in (EntryKind.PASSPORT_ISSUED, EntryKind.PASSPORT_CORRECTED):
                    credential = body["credential"]
                    method = credential["proof"]["verificationMethod"]
                    public = keys.key_for(method, index=index)
                    if keys.controller_of(method) != credential.get("issuer"):
                        raise SignatureInvalid("the key is not controlled by the issuer")
                    tasks.append((index, canonicalize(credential), public))
                    passport_entries[index] = (method, credential)
                else:
                    raise LedgerInconsistent(f"unknown kind {row.kind!r}")
            except (PassportError, ValueError, KeyError, TypeError) as exc:
                detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
                raise AuditFailed(f"entry {index}: {detail}", index) from exc
            leaves.append(leaf_hash(row.entry))
            if len(tasks) >= CHUNK:
                futures.append(pool.submit(_verify_chunk, tasks))
                signatures += len(tasks)
                tasks = []
            if progress is not None and index % 10_000 == 0:
                progress("entries", index)
        if tasks:
            futures.append(pool.submit(_verify_chunk, tasks))
            signatures += len(tasks)
        if len(leaves) != size:
            raise AuditFailed(f"the log head says {size} entries but {len(leaves)} are stored")
        levels = _levels(leaves)
        _check_nodes(sess, levels, size)
        checkpoints = _check_checkpoints(sess, levels, key, keys_dir, size)
        restricted = _check_served(sess, leaves, passport_entries, keys)
        for task_index in range(0, len(restricted), CHUNK):
            futures.append(pool.submit(_verify_chunk, restricted[task_index : task_index + CHUNK]))
        signatures += len(restricted)
        _check_org_keys(sess, keys, base_url)
        for future in futures:
            failure = future.result()
            if failure is not None:
                failures.append(failure)
    if failures:
        index, detail = min(failures)
        raise AuditFailed(f"entry {index}: signature: {detail}", index)
    return AuditReport(entries=size, checkpoints=checkpoints, signatures=signatures)


def _check_nodes(sess: Session, levels: list[list[bytes]], size: int) -> None:
    """Every stored node hash equals the recomputed one, and none is missing or extra."""
    for level, hashes in enumerate(levels):
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
    above = sess.exec(
        select(func.count()).select_from(LedgerNodeRow).where(LedgerNodeRow.level >= len(levels))
    ).one()
    if above:
        raise AuditFailed(f"{above} stored node hashes lie above the tree")


def _check_checkpoints(
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
        if _root(levels, checkpoint.size) != checkpoint.root_hash:
            first = _first_divergence(levels, checkpoint, previous_size)
            raise AuditFailed(
                f"entry {first}: the stored entries do not give the root of {label} "
                "(changed, reordered or forked entries)",
                first,
            )
        if stored_size is not None:
            previous_size = checkpoint.size
    return len(rows)


def _first_divergence(levels: list[list[bytes]], checkpoint: Any, verified: int) -> int:
    """Name an entry past the last verified checkpoint: the divergence lies at or after it."""
    return verified if verified < checkpoint.size else max(checkpoint.size - 1, 0)


def _check_served(
    sess: Session,
    leaves: list[bytes],
    passport_entries: dict[int, tuple[str, dict[str, Any]]],
    keys: KeyHistory,
) -> list[tuple[int, bytes, bytes]]:
    """What the API serves (history and restricted rows) is exactly what was logged."""
    history = sess.exec(
        select(HistoryEntryRow).order_by(
            col(HistoryEntryRow.passport_id), col(HistoryEntryRow.sequence)
        )
    ).all()
    seen: set[int] = set()
    public: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
    previous: HistoryEntryRow | None = None
    for row in history:
        index = row.ledger_index
        where = f"passport {row.passport_id} sequence {row.sequence}"
        if index is None or index >= len(leaves):
            raise AuditFailed(f"{where} is not in the ledger")
        logged = entry_bytes(EntryKind(row.kind), row.credential.encode())
        if leaf_hash(logged) != leaves[index] or row.entry_hash != leaves[index].hex():
            raise AuditFailed(
                f"entry {index}: the served copy ({where}) differs from the log", index
            )
        credential = passport_entries[index][1]
        chained = previous is not None and previous.passport_id == row.passport_id
        if row.sequence != (previous.sequence + 1 if chained and previous else 1):
            raise AuditFailed(f"entry {index}: {where} breaks the sequence", index)
        expected_previous = previous.entry_hash if chained and previous else None
        if credential.get("previousEntry") != expected_previous:
            raise AuditFailed(f"entry {index}: previousEntry does not match the history", index)
        seen.add(index)
        public[(row.passport_id, row.sequence)] = (index, credential)
        previous = row
    missing = set(passport_entries) - seen
    if missing:
        first = min(missing)
        raise AuditFailed(f"entry {first}: logged but not served (a history row is missing)", first)
    tasks = []
    for secret in sess.exec(select(RestrictedCredentialRow)).all():
        index, credential = public.get((secret.passport_id, secret.sequence), (-1, {}))
        if index < 0:
            raise AuditFailed(
                f"restricted credential of {secret.passport_id}#{secret.sequence} is not logged"
            )
        restricted = json.loads(secret.credential)
        try:
            check_restricted(credential, restricted)
            method = restricted["proof"]["verificationMethod"]
            public_key = keys.key_for(method, index=index)
        except (PassportError, KeyError, TypeError) as exc:
            detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
            raise AuditFailed(
                f"entry {index}: restricted {secret.tier} credential: {detail}", index
            ) from exc
        tasks.append((index, secret.credential.encode(), public_key))
    return tasks


def _check_org_keys(sess: Session, keys: KeyHistory, base_url: str) -> None:
    """The keys DID documents are served from are the keys the log registered."""
    for key, slug in sess.exec(select(OrgKeyRow, OrganisationRow.slug).join(OrganisationRow)).all():
        did, method = signing_method(base_url, slug, key.key_id)
        if keys.controller_of(method) != did:
            raise AuditFailed(f"key {method} is served in a DID document but not in the log")
        registered = keys.public_key_of(method)
        if registered != key.public_key:
            raise AuditFailed(
                f"key {method} is served as {encode_multikey(key.public_key)} but logged otherwise"
            )
