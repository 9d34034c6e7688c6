"""`dpp audit`: re-verify the whole stored log and everything served from it, on all cores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, col, select

from passport.core.errors import PassportError
from passport.core.keylog import KeyHistory
from passport.core.kinds import KEY_KINDS
from passport.core.multibase import encode_multikey
from passport.services.audit_tree import AuditFailed, check_checkpoints, check_nodes, levels_of
from passport.services.audit_worker import Failure, RangeResult, audit_range, init_worker
from passport.services.ledger import committed_size
from passport.services.logkey import LogKey
from passport.services.orgs import signing_method
from passport.tables import HistoryEntryRow, LedgerEntryRow, OrganisationRow, OrgKeyRow

CHUNK = 500  # entries per worker task: small enough to keep every core busy to the end
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a passing audit checked."""

    entries: int
    checkpoints: int
    signatures: int
    restricted: int = 0


def _key_history(sess: Session) -> KeyHistory:
    """Read every key entry, in index order, into a KeyHistory."""
    keys = KeyHistory()
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
    return keys


def audit(
    sess: Session,
    key: LogKey,
    keys_dir: Path,
    *,
    base_url: str,
    workers: int | None = None,
    progress: Progress | None = None,
    restricted_signatures: bool = False,
) -> AuditReport:
    """Run every check; raise AuditFailed naming the first bad entry.

    Worker processes check ranges of entries (see `audit_worker`); this process checks what
    spans ranges. Entry-level failures are reported before tree-level ones: a changed entry
    also breaks the node hashes and checkpoints above it, but the entry is what to name.
    """
    size = committed_size(sess)
    # Validity by position needs every key entry first: a revocation logged later can void
    # signatures logged earlier (compromisedSince).
    keys = _key_history(sess)
    url = sess.get_bind().engine.url.render_as_string(hide_password=False)
    results: list[RangeResult] = []
    with ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1,
        initializer=init_worker,
        initargs=(url, keys, restricted_signatures),
    ) as pool:
        starts = range(0, size, CHUNK)
        for result in pool.map(audit_range, starts, [min(s + CHUNK, size) for s in starts]):
            results.append(result)
            if progress is not None:
                progress("entries", result.start + len(result.leaves))
    # A range that failed stops at its first bad entry and reports nothing served after it:
    # chains are checked only over ranges that were checked whole.
    failures = [r.failure for r in results if r.failure is not None]
    failures = failures or _check_chains(sess, results)
    if failures:
        index, detail = min(failures)
        raise AuditFailed(f"entry {index}: {detail}", index)
    leaves = [leaf for result in results for leaf in result.leaves]
    # Entries and the head commit together, so rows past `size` are only those appended since
    # it was read (the log may be live); read the head again after counting them.
    extra = sess.execute(text("SELECT COUNT(*) FROM ledger_entry WHERE idx >= :s"), {"s": size})
    beyond = extra.scalar_one()
    head = sess.execute(text("SELECT size FROM ledger_head WHERE id = 1")).scalar_one()
    if beyond > head - size:
        raise AuditFailed(f"the log head says {head} entries but {size + beyond} are stored")
    levels = levels_of(leaves)
    check_nodes(sess, levels, size)
    checkpoints = check_checkpoints(sess, levels, key, keys_dir, size)
    _check_org_keys(sess, keys, base_url)
    return AuditReport(
        entries=size,
        checkpoints=checkpoints,
        signatures=sum(r.signatures for r in results),
        restricted=sum(r.restricted for r in results),
    )


def _check_chains(sess: Session, results: list[RangeResult]) -> list[Failure]:
    """Each passport's history is the chain of versions the log holds, with none left out."""
    failures: list[Failure] = []
    unlogged = sess.exec(
        select(HistoryEntryRow.passport_id, HistoryEntryRow.sequence).where(
            col(HistoryEntryRow.ledger_index).is_(None)
        )
    ).first()
    if unlogged is not None:
        raise AuditFailed(f"passport {unlogged[0]} sequence {unlogged[1]} is not in the ledger")
    orphans = sess.execute(
        text(
            "SELECT COUNT(*) FROM restricted_credential r LEFT JOIN history_entry h"
            " ON h.passport_id = r.passport_id AND h.sequence = r.sequence"
            " WHERE h.passport_id IS NULL"
        )
    ).scalar_one()
    if orphans:
        raise AuditFailed(f"{orphans} restricted credentials belong to no logged version")
    previous_of = {item.index: item.previous_entry for r in results for item in r.logged}
    served = sorted(row for r in results for row in r.served)
    seen: set[int] = set()
    last: tuple[str, int, str] | None = None  # passport, sequence, entry hash
    for passport_id, sequence, index, entry_hash in served:
        chained = last is not None and last[0] == passport_id
        where = f"passport {passport_id} sequence {sequence}"
        if sequence != (last[1] + 1 if chained and last else 1):
            failures.append((index, f"{where} breaks the sequence"))
        elif previous_of.get(index) != (last[2] if chained and last else None):
            failures.append((index, "previousEntry does not match the history"))
        seen.add(index)
        last = (passport_id, sequence, entry_hash)
    missing = set(previous_of) - seen
    if missing:
        failures.append((min(missing), "logged but not served (a history row is missing)"))
    return failures


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
