"""`dpp audit`: re-verify the whole stored log and everything served from it, on all cores."""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from passport.core.canonical import canonicalize
from passport.core.credentials import digest_sri, entry_bytes
from passport.core.dataintegrity import verify_credential
from passport.core.errors import LedgerInconsistent, PassportError, SignatureInvalid
from passport.core.keylog import KeyHistory
from passport.core.kinds import KEY_KINDS, EntryKind
from passport.core.merkle import leaf_hash
from passport.core.multibase import encode_multikey
from passport.services.audit_tree import AuditFailed, check_checkpoints, check_nodes, levels_of
from passport.services.ledger import committed_size
from passport.services.logkey import LogKey
from passport.services.orgs import signing_method
from passport.tables import (
    HistoryEntryRow,
    LedgerEntryRow,
    OrganisationRow,
    OrgKeyRow,
    RestrictedCredentialRow,
)

CHUNK = 2000
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class Logged:
    """What later checks need of a logged passport credential (not the whole credential)."""

    subject: str
    previous_entry: str | None
    related: dict[str, str]  # restricted credential id -> digestSRI
    public_key: bytes

    @classmethod
    def of(cls, credential: dict[str, Any], public_key: bytes) -> Logged:
        """Keep the links of `credential`."""
        related = {r["id"]: r["digestSRI"] for r in credential.get("relatedResource", [])}
        return cls(
            credential["credentialSubject"]["id"],
            credential.get("previousEntry"),
            related,
            public_key,
        )


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a passing audit checked."""

    entries: int
    checkpoints: int
    signatures: int


# A task for a worker: (index, bytes, public key, expected digest or None, subject id or None).
# Entry tasks carry the entry bytes; restricted tasks the stored restricted credential, the
# digest and subject its logged public credential names.
Task = tuple[int, bytes, bytes, dict[str, str] | None, str | None]


def _verify_chunk(tasks: list[Task]) -> tuple[int, str] | None:
    """Check canonical form, digests and signatures of a chunk; return the first failure."""
    for index, raw, public_key, related, subject in tasks:
        try:
            document = json.loads(raw)
            if canonicalize(document) != raw:
                raise LedgerInconsistent("not in canonical (JCS) form")
            if related is None:
                document = document["credential"]
            else:
                if related.get(document.get("id")) != digest_sri(raw):
                    raise SignatureInvalid("does not match a digest its public credential logs")
                if document["credentialSubject"]["id"] != subject:
                    raise SignatureInvalid("names another subject")
            verify_credential(document, resolve_key=_fixed(public_key))
        except (PassportError, ValueError, KeyError, TypeError) as exc:
            detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
            return index, detail if related is None else f"restricted credential: {detail}"
    return None


def _fixed(public_key: bytes) -> Callable[[str], bytes]:
    return lambda _method: public_key


def _key_history(sess: Session) -> tuple[KeyHistory, deque[int]]:
    """Read every key entry, in index order, into a KeyHistory."""
    keys = KeyHistory()
    indices: deque[int] = deque()
    rows = sess.exec(
        select(LedgerEntryRow.idx, LedgerEntryRow.kind, LedgerEntryRow.entry)
        .where(col(LedgerEntryRow.kind).in_([k.value for k in KEY_KINDS]))
        .order_by(col(LedgerEntryRow.idx))
    ).all()
    for index, kind, raw in rows:
        try:
            keys.apply(index, kind, json.loads(raw)["key"])
        except (PassportError, ValueError, KeyError, TypeError) as exc:
            detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
            raise AuditFailed(f"entry {index}: {detail}", index) from exc
        indices.append(index)
    return keys, indices


def _entries(sess: Session) -> Iterator[tuple[int, str, bytes]]:
    """Yield (index, kind, bytes) in index order, a page at a time (keyset, not OFFSET)."""
    last = -1
    while True:
        rows = sess.exec(
            select(LedgerEntryRow.idx, LedgerEntryRow.kind, LedgerEntryRow.entry)
            .where(col(LedgerEntryRow.idx) > last)
            .order_by(col(LedgerEntryRow.idx))
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


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
    # Validity by position needs every key entry first: a revocation logged later can void
    # signatures logged earlier (compromisedSince).
    keys, key_indices = _key_history(sess)
    passport_entries: dict[int, Logged] = {}
    signatures = 0
    failures: list[tuple[int, str]] = []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = []
        tasks: list[Task] = []
        for stored_index, kind, raw in _entries(sess):
            index = len(leaves)
            if stored_index != index:
                raise AuditFailed(
                    f"entry {index}: missing (next stored index is {stored_index})", index
                )
            try:
                body = json.loads(raw)
                if body.get("v") != 1 or body.get("kind") != kind:
                    raise LedgerInconsistent("version or kind does not match its row")
                if kind in KEY_KINDS:
                    if canonicalize(body) != raw:
                        raise LedgerInconsistent("not in canonical (JCS) form")
                    if not key_indices or key_indices.popleft() != index:
                        raise LedgerInconsistent("key entry out of step with the key history")
                elif kind in (EntryKind.PASSPORT_ISSUED, EntryKind.PASSPORT_CORRECTED):
                    credential = body["credential"]
                    method = credential["proof"]["verificationMethod"]
                    public = keys.key_for(method, index=index)
                    if keys.controller_of(method) != credential.get("issuer"):
                        raise SignatureInvalid("the key is not controlled by the issuer")
                    tasks.append((index, raw, public, None, None))  # canonical form: worker
                    passport_entries[index] = Logged.of(credential, public)
                else:
                    raise LedgerInconsistent(f"unknown kind {kind!r}")
            except (PassportError, ValueError, KeyError, TypeError) as exc:
                detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
                raise AuditFailed(f"entry {index}: {detail}", index) from exc
            leaves.append(leaf_hash(raw))
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
        levels = levels_of(leaves)
        check_nodes(sess, levels, size)
        checkpoints = check_checkpoints(sess, levels, key, keys_dir, size)
        restricted = _check_served(sess, leaves, passport_entries)
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


def _check_served(sess: Session, leaves: list[bytes], logged: dict[int, Logged]) -> list[Task]:
    """What the API serves (history and restricted rows) is exactly what was logged."""
    history = sess.execute(
        core_select(
            col(HistoryEntryRow.passport_id),
            col(HistoryEntryRow.sequence),
            col(HistoryEntryRow.kind),
            col(HistoryEntryRow.credential),
            col(HistoryEntryRow.entry_hash),
            col(HistoryEntryRow.ledger_index),
        ).order_by(col(HistoryEntryRow.passport_id), col(HistoryEntryRow.sequence))
    ).all()
    seen: dict[tuple[str, int], int] = {}
    previous: tuple[str, int, str] | None = None  # passport, sequence, entry hash
    for passport_id, sequence, kind, credential, entry_hash, index in history:
        where = f"passport {passport_id} sequence {sequence}"
        if index is None or index not in logged:
            raise AuditFailed(f"{where} is not in the ledger")
        served = entry_bytes(EntryKind(kind), credential.encode())
        if leaf_hash(served) != leaves[index] or entry_hash != leaves[index].hex():
            raise AuditFailed(
                f"entry {index}: the served copy ({where}) differs from the log", index
            )
        chained = previous is not None and previous[0] == passport_id
        if sequence != (previous[1] + 1 if chained and previous else 1):
            raise AuditFailed(f"entry {index}: {where} breaks the sequence", index)
        if logged[index].previous_entry != (previous[2] if chained and previous else None):
            raise AuditFailed(f"entry {index}: previousEntry does not match the history", index)
        seen[(passport_id, sequence)] = index
        previous = (passport_id, sequence, entry_hash)
    missing = set(logged) - set(seen.values())
    if missing:
        first = min(missing)
        raise AuditFailed(f"entry {first}: logged but not served (a history row is missing)", first)
    tasks: list[Task] = []
    restricted = sess.exec(
        select(
            RestrictedCredentialRow.passport_id,
            RestrictedCredentialRow.sequence,
            RestrictedCredentialRow.credential,
        )
    ).all()
    bound = 0
    for passport_id, sequence, credential in restricted:
        index = seen.get((passport_id, sequence), -1)
        if index < 0:
            raise AuditFailed(f"restricted credential of {passport_id}#{sequence} is not logged")
        public = logged[index]
        # Signed with the same key as its public credential (they are issued together).
        tasks.append(
            (index, credential.encode(), public.public_key, public.related, public.subject)
        )
        bound += 1
    promised = sum(len(entry.related) for entry in logged.values())
    if bound != promised:
        raise AuditFailed(f"{promised} restricted credentials are logged but {bound} are served")
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
