"""Read a passport's history: every version and event in ledger order, tiers by role.

Each credential is served as the bytes of its ledger entry (public) or as stored (restricted),
never serialised again. A restricted credential is given to its signer (the issuing
manufacturer for a version, the actor for an event) and to the roles its tier allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from passport.core.log.kinds import credential_of, is_event
from passport.core.product.access import Caller, Tier, readable_tiers
from passport.services.context import ServiceContext
from passport.services.passports.read import load_passport
from passport.store.packing import unpack
from passport.store.sql import driver_query, stored_bytes


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One entry of a passport's history as stored: the public credential's JCS bytes and the
    restricted ones the caller may read."""

    sequence: int
    kind: str
    version: int | None
    ledger_index: int
    credential: bytes
    restricted: dict[Tier, bytes]


@dataclass(frozen=True, slots=True)
class StoredHistory:
    """A passport's history as the caller may read it."""

    passport: str
    uri: str
    status: str
    entries: list[StoredEntry]


_ROWS = (
    "SELECT h.sequence, h.kind, h.version, h.ledger_index, h.org_id, e.entry, r.tier, r.packed"
    " FROM history_entry h JOIN ledger_entry e ON e.idx = h.ledger_index"
    " LEFT JOIN restricted_credential r ON r.passport_id = h.passport_id"
    " AND r.sequence = h.sequence WHERE h.passport_id = ? ORDER BY h.sequence, r.tier"
)


def stored_history(
    sess: Session, ctx: ServiceContext, caller: Caller | None, path: str, *, events_only: bool
) -> StoredHistory:
    """Return the passport's versions and events (or only its events), oldest first."""
    link, passport = load_passport(sess, path)
    others = readable_tiers(caller.roles if caller is not None else ())
    entries: dict[int, StoredEntry] = {}
    for sequence, kind, version, index, signer, entry, tier, packed in driver_query(
        sess.connection(), _ROWS, (passport.id,)
    ):
        if events_only and not is_event(kind):
            continue
        if sequence not in entries:
            credential = credential_of(stored_bytes(entry), kind)
            entries[sequence] = StoredEntry(sequence, kind, version, index, credential, {})
        if tier is None:
            continue
        own = caller is not None and signer == caller.org_id
        if own or Tier(tier) in others:
            entries[sequence].restricted[Tier(tier)] = unpack(stored_bytes(packed))
    return StoredHistory(
        passport=passport.id,
        uri=link.uri(ctx.base_url),
        status=passport.status,
        entries=list(entries.values()),
    )
