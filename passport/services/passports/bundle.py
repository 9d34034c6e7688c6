"""Build the offline bundle of a passport: checkpoint, its history and the entries linking it
to its predecessor and successors, its lots (claimed or produced) and the other claims on them,
with proofs, keys and DID documents."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from sqlmodel import Session, col, select

from passport.core.lifecycle.bundle import BUNDLE_FORMAT
from passport.core.lifecycle.vocabulary import EventKind, entry_kind
from passport.core.log.keylog import logged_did_document
from passport.core.log.kinds import KEY_KINDS, EntryKind, credential_of
from passport.core.log.merkle import inclusion_proof
from passport.core.product.access import Caller, Tier, readable_tiers
from passport.services.context import ServiceContext
from passport.services.ledger.nodes import StoredNodes
from passport.services.ledger.publisher import Publisher
from passport.services.passports.read import load_passport
from passport.store.packing import unpack
from passport.store.sql import driver_query, stored_bytes
from passport.store.tables import HistoryEntryRow, LedgerEntryRow, RestrictedCredentialRow

REMANUFACTURED = entry_kind(EventKind.REMANUFACTURE)
RECYCLED = entry_kind(EventKind.RECYCLE)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The entries that link a passport to the passports before and after it: its successors'
# first versions (each names it as predecessor) and its predecessor's remanufacture event
# (which names it as successor).
_LINKS = (
    "SELECT h.ledger_index FROM passport p JOIN history_entry h ON h.passport_id = p.id"
    " AND h.sequence = 1 WHERE p.predecessor_id = ?"
    " UNION SELECT h.ledger_index FROM passport p JOIN history_entry h"
    " ON h.passport_id = p.predecessor_id AND h.kind = ? WHERE p.id = ?"
)


# The lots a passport drew on in any version, and the current versions of the other passports
# that claim those lots (so that a verifier sees the lots' balances).
_LOTS = (
    "SELECT DISTINCT l.ledger_index FROM lot_claim c JOIN material_lot l ON l.id = c.lot_id"
    " WHERE c.passport_id = ?"
    " UNION SELECT h.ledger_index FROM lot_claim c JOIN history_entry h"
    " ON h.passport_id = c.passport_id AND h.sequence = c.sequence"
    " WHERE c.passport_id <> ? AND c.lot_id IN (SELECT lot_id FROM lot_claim WHERE passport_id = ?)"
    " AND c.sequence = (SELECT MAX(v.sequence) FROM history_entry v"
    " WHERE v.passport_id = c.passport_id AND v.version IS NOT NULL)"
    " AND c.passport_id NOT IN (SELECT id FROM passport WHERE status = 'superseded')"
)
# The lots a recycling run of the passport produced (found by the run's batch id).
_PRODUCED = (
    "SELECT e.entry FROM history_entry h JOIN ledger_entry e ON e.idx = h.ledger_index"
    " WHERE h.passport_id = ? AND h.kind = ?"
)


def _links(sess: Session, passport_id: str) -> list[int]:
    """The entries a passport's bundle carries besides its own history."""
    conn = sess.connection()
    rows = driver_query(conn, _LINKS, (passport_id, REMANUFACTURED, passport_id))
    rows += driver_query(conn, _LOTS, (passport_id, passport_id, passport_id))
    for (entry,) in driver_query(conn, _PRODUCED, (passport_id, RECYCLED)):
        batch = orjson.loads(credential_of(stored_bytes(entry), RECYCLED))
        batch = batch["credentialSubject"]["event"]["batch"]
        rows += driver_query(
            conn, "SELECT ledger_index FROM material_lot WHERE batch = ?", (batch,)
        )
    return sorted({index for (index,) in rows})


def build_bundle(
    sess: Session, ctx: ServiceContext, publisher: Publisher, caller: Caller | None, path: str
) -> dict[str, Any]:
    """Return everything an auditor needs to verify the passport's history offline."""
    link, passport = load_passport(sess, path)
    history = sess.exec(
        select(HistoryEntryRow)
        .where(HistoryEntryRow.passport_id == passport.id)
        .order_by(col(HistoryEntryRow.sequence))
    ).all()
    indices = [h.ledger_index for h in history] + _links(sess, passport.id)
    published = publisher.covering(max(indices))
    logged = sess.exec(select(LedgerEntryRow).where(col(LedgerEntryRow.idx).in_(indices))).all()
    issuers = {orjson.loads(credential_of(r.entry, r.kind))["issuer"] for r in logged}
    key_rows = sess.exec(
        select(LedgerEntryRow)
        .where(col(LedgerEntryRow.kind).in_([k.value for k in KEY_KINDS]))
        .where(col(LedgerEntryRow.idx) < published.size)
        .order_by(col(LedgerEntryRow.idx))
    ).all()
    keys = [r for r in key_rows if orjson.loads(r.entry)["key"]["controller"] in issuers]
    reader = StoredNodes(sess)
    entries = []
    for index, raw in [(r.idx, r.entry) for r in [*keys, *logged]]:
        proof = inclusion_proof(index, published.size, reader)
        entries.append({"index": index, "entry": raw.decode(), "proof": [_b64(h) for h in proof]})
    # Each restricted credential goes to its signer (the issuer for a version, the actor for
    # an event) and to the roles its tier allows, as `GET …/history` gives them.
    others = readable_tiers(caller.roles if caller is not None else ())
    signers = {h.sequence: h.org_id for h in history}
    by_sequence = {h.sequence: h.ledger_index for h in history}
    restricted = [
        {
            "index": by_sequence[r.sequence],
            "tier": r.tier,
            "credential": orjson.loads(unpack(r.packed)),
        }
        for r in sess.exec(
            select(RestrictedCredentialRow)
            .where(RestrictedCredentialRow.passport_id == passport.id)
            .order_by(col(RestrictedCredentialRow.sequence), col(RestrictedCredentialRow.tier))
        ).all()
        if Tier(r.tier) in others or (caller is not None and signers[r.sequence] == caller.org_id)
    ]
    # The documents are built from the logged key entries in this bundle, so they match it.
    registered = [orjson.loads(r.entry)["key"] for r in keys if r.kind == EntryKind.KEY_REGISTERED]
    documents = {did: logged_did_document(did, registered) for did in sorted(issuers)}
    return {
        "format": BUNDLE_FORMAT,
        "passport": link.uri(ctx.base_url),
        "log": {"origin": publisher.key.name, "verifier_key": publisher.key.verifier},
        "checkpoint": published.note.decode(),
        "entries": entries,
        "restricted": restricted,
        "did_documents": documents,
    }
