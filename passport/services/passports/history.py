"""A passport's history rows: each signed version logged, and stored as it was logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.log.kinds import EntryKind, entry_bytes
from passport.core.log.merkle import leaf_hash
from passport.core.product.credentials import SignedVersion
from passport.services.ledger.log import NewEntry, append
from passport.services.passports.views import PassportView
from passport.store.packing import pack
from passport.store.tables import HistoryEntryRow, RestrictedCredentialRow, table_of


def record_versions(
    sess: Session,
    views: Sequence[PassportView],
    signed: Sequence[SignedVersion],
    kind: EntryKind,
    *,
    org_id: int,
    status_indices: Sequence[int | None] | None = None,
    at: datetime,
) -> list[PassportView]:
    """Append the versions to the ledger and store their rows, in the caller's transaction.

    Returns the views with their ledger indices. The public credential is stored once, inside
    its logged entry, and served from there: what is served is what was logged.
    """
    indices = status_indices if status_indices is not None else [None] * len(views)
    places = [
        HistoryPlace(view.id, view.sequence, view.version, org_id, index)
        for view, index in zip(views, indices, strict=True)
    ]
    indices = record_history(sess, places, signed, kind, at=at)
    return [replace(view, ledger_index=index) for view, index in zip(views, indices, strict=True)]


@dataclass(frozen=True, slots=True)
class HistoryPlace:
    """Where a signed credential goes: its passport, its sequence number in the passport's
    history, its version number (None for a lifecycle event), and the organisation that
    signed it."""

    passport_id: str
    sequence: int
    version: int | None
    org_id: int
    status_index: int | None = None  # a version's place in its issuer's status lists


def record_history(
    sess: Session,
    places: Sequence[HistoryPlace],
    signed: Sequence[SignedVersion],
    kind: str | Sequence[str],
    *,
    at: datetime,
) -> list[int]:
    """Append signed credentials to the ledger, in order, and store their history and
    restricted rows, in the caller's transaction; return their ledger indices. `kind` is the
    entry kind of all of them, or of each."""
    if not places:
        return []
    kinds = [kind] * len(places) if isinstance(kind, str) else list(kind)
    logged = [entry_bytes(k, version.public_jcs) for k, version in zip(kinds, signed, strict=True)]
    indices = append(
        sess,
        [
            NewEntry(k, entry, p.passport_id)
            for p, k, entry in zip(places, kinds, logged, strict=True)
        ],
        at=at,
    )
    entries, restricted = [], []
    for place, kind_of, version, entry, index in zip(
        places, kinds, signed, logged, indices, strict=True
    ):
        entries.append(
            {
                "passport_id": place.passport_id,
                "sequence": place.sequence,
                "kind": kind_of,
                "version": place.version,
                "org_id": place.org_id,
                "status_index": place.status_index,
                "entry_hash": leaf_hash(entry).hex(),
                "ledger_index": index,
                "created_at": at,
            }
        )
        restricted += [
            {
                "passport_id": place.passport_id,
                "sequence": place.sequence,
                "tier": tier.value,
                "packed": pack(jcs),
            }
            for tier, jcs in version.restricted_jcs.items()
        ]
    connection = sess.connection()  # Core inserts: thousands of rows, no ORM bookkeeping
    connection.execute(insert(table_of(HistoryEntryRow)), entries)
    if restricted:
        connection.execute(insert(table_of(RestrictedCredentialRow)), restricted)
    return indices
