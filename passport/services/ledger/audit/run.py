"""`dpp audit`: re-verify the whole stored log and everything served from it, on all cores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, col, select

from passport.core.errors import LedgerInconsistent, PassportError
from passport.core.log.keylog import KeyHistory
from passport.core.log.kinds import KEY_KINDS
from passport.core.signing.did import signing_method
from passport.core.signing.multibase import encode_multikey
from passport.services.ledger.audit.lots import check_lots
from passport.services.ledger.audit.responses import check_kept_responses
from passport.services.ledger.audit.served import Failure
from passport.services.ledger.audit.tree import (
    AuditFailed,
    UpperTree,
    check_roots,
    open_checkpoints,
)
from passport.services.ledger.audit.worker import RANGE, RANGE_LEVEL, audit_task, init_worker
from passport.services.ledger.log import committed_size
from passport.services.ledger.logkey import LogKey
from passport.store.tables import LedgerEntryRow, OrganisationRow, OrgKeyRow

Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What a passing audit checked."""

    entries: int
    checkpoints: int
    signatures: int
    restricted: int = 0
    kept_responses: int = 0


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

    Worker processes check aligned ranges of entries, the node hashes inside them and what is
    served from them (see `audit.worker`); this process checks the tree above the ranges and
    the checkpoints, holding one hash per range. Entry-level failures are reported before
    tree-level ones: a changed entry also breaks the checkpoints above it, but the entry is
    what to name.
    """
    size = committed_size(sess)
    # Validity by position needs every key entry first: a revocation logged later can void
    # signatures logged earlier (compromisedSince).
    keys = _key_history(sess)
    opened = open_checkpoints(sess, key, keys_dir, size)
    cut_sizes = sorted({o.checkpoint.size for o in opened if o.checkpoint.size % RANGE})
    url = sess.get_bind().engine.url.render_as_string(hide_password=False)
    tasks = [
        (start, min(start + RANGE, size), tuple(s for s in cut_sizes if start < s <= start + RANGE))
        for start in range(0, size, RANGE)
    ]
    ranges = _check_ranges(
        tasks, (url, keys, restricted_signatures, base_url), workers=workers, progress=progress
    )
    _check_links(sess, ranges, base_url)
    _check_statuses(sess)
    try:
        check_lots(sess.connection(), base_url, size)
    except LedgerInconsistent as exc:
        raise AuditFailed(exc.detail) from exc
    _check_orphans(sess)
    _check_head(sess, size)
    tree = UpperTree(RANGE_LEVEL, ranges.roots)
    tree.check_stored(sess, size)
    check_roots(opened, lambda s: tree.root_of(s, ranges.cuts.get(s, [])))
    _check_org_keys(sess, keys, base_url)
    kept = check_kept_responses(sess, base_url, key)
    return AuditReport(
        entries=size,
        checkpoints=sum(o.stored for o in opened),
        signatures=ranges.signatures,
        restricted=ranges.restricted,
        kept_responses=kept,
    )


@dataclass(slots=True)
class _Ranges:
    """What the workers' ranges add up to: their roots, checkpoint cuts and counts."""

    roots: list[bytes] = field(default_factory=list)
    cuts: dict[int, list[bytes]] = field(default_factory=dict)
    signatures: int = 0
    restricted: int = 0
    successors: dict[tuple[str, str], int] = field(default_factory=dict)
    predecessors: dict[tuple[str, str], int] = field(default_factory=dict)


def _check_ranges(
    tasks: list[tuple[int, int, tuple[int, ...]]],
    initargs: tuple[str, KeyHistory, bool, str],
    *,
    workers: int | None,
    progress: Progress | None,
) -> _Ranges:
    """Check every range on a pool of processes; raise AuditFailed naming the first bad entry."""
    ranges = _Ranges()
    failures: list[Failure] = []
    tree_failures: list[Failure] = []
    with ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1, initializer=init_worker, initargs=initargs
    ) as pool:
        for result in pool.map(audit_task, tasks):
            if result.failure is not None:
                failures.append(result.failure)
            if result.tree_failure is not None:
                tree_failures.append(result.tree_failure)
            if result.root is not None:
                ranges.roots.append(result.root)
            ranges.cuts.update(result.cuts)
            ranges.signatures += result.signatures
            ranges.restricted += result.restricted
            ranges.successors |= result.successors
            ranges.predecessors |= result.predecessors
            if progress is not None:
                progress("entries", result.end)
    if failures or tree_failures:
        index, detail = min(failures or tree_failures)
        raise AuditFailed(f"entry {index}: {detail}", index)
    return ranges


def _check_links(sess: Session, ranges: _Ranges, base_url: str) -> None:
    """Every remanufacture link holds both ways in the log (the event names the successor, the
    successor's first version names the predecessor), and the passport rows serve it."""
    one_way = set(ranges.successors) ^ set(ranges.predecessors)
    if one_way:
        index = min(ranges.successors.get(p, ranges.predecessors.get(p, 0)) for p in one_way)
        raise AuditFailed(f"entry {index}: a remanufacture link does not point back", index)
    rows = sess.execute(
        text("SELECT predecessor_id, id FROM passport WHERE predecessor_id IS NOT NULL")
    ).all()
    base = base_url.rstrip("/")
    served = {(f"{base}/{old}", f"{base}/{new}") for old, new in rows}
    if served != set(ranges.predecessors):
        raise AuditFailed("the passports' predecessors differ from the remanufactures logged")


def _check_statuses(sess: Session) -> None:
    """Each passport's served status (listings, status lists) is what its events made it."""
    ending = sess.execute(
        text(
            "SELECT passport_id, kind FROM history_entry"
            " WHERE kind IN ('event:remanufacture', 'event:recycle', 'event:end-of-life')"
        )
    ).all()
    expected = {
        passport: "superseded" if kind == "event:remanufacture" else "end-of-life"
        for passport, kind in ending
    }
    served = dict(
        sess.execute(text("SELECT id, status FROM passport WHERE status <> 'active'")).all()
    )
    for passport in sorted(set(expected) | set(served)):
        if served.get(passport, "active") != expected.get(passport, "active"):
            raise AuditFailed(
                f"passport {passport} is served as {served.get(passport, 'active')}, "
                f"its events make it {expected.get(passport, 'active')}"
            )


def _check_orphans(sess: Session) -> None:
    """No restricted credential is left without the logged version it belongs to."""
    orphans = sess.execute(
        text(
            "SELECT COUNT(*) FROM restricted_credential r LEFT JOIN history_entry h"
            " ON h.passport_id = r.passport_id AND h.sequence = r.sequence"
            " WHERE h.passport_id IS NULL"
        )
    ).scalar_one()
    if orphans:
        raise AuditFailed(f"{orphans} restricted credentials belong to no logged version")


def _check_head(sess: Session, size: int) -> None:
    """No entry is stored past the head (rows appended since `size` was read aside)."""
    # Entries and the head commit together, so rows past `size` are only those appended since
    # it was read (the log may be live); read the head again after counting them.
    extra = sess.execute(text("SELECT COUNT(*) FROM ledger_entry WHERE idx >= :s"), {"s": size})
    beyond = extra.scalar_one()
    head = sess.execute(text("SELECT size FROM ledger_head WHERE id = 1")).scalar_one()
    if beyond > head - size:
        raise AuditFailed(f"the log head says {head} entries but {size + beyond} are stored")


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
