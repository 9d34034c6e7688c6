"""`dpp audit`: every lot's balance, recomputed from the log alone, is what the service keeps.

The log states each lot (`lot:produced`: material and mass) and each passport version's
claims on lots (its public `recycled_content`); a passport's claims are its newest version's,
until a remanufacture passes them to its successor.
Replayed in log order, no lot may ever be claimed past its mass, and the grams claimed in the
end must be the `material_lot.claimed_g` the service checks new claims against.
"""

from __future__ import annotations

import orjson
from sqlalchemy import Connection

from passport.core.errors import InvalidInput, LedgerInconsistent
from passport.core.lifecycle.lots import Balances, drawn_from, lot_of
from passport.core.lifecycle.vocabulary import EventKind, entry_kind
from passport.core.log.kinds import PASSPORT_KINDS, EntryKind, credential_of
from passport.store.sql import driver_query, stored_bytes

_ENTRIES = (
    "SELECT idx, kind, entry FROM ledger_entry WHERE idx < ?"
    " AND (kind = ? OR kind = ? OR kind = ? OR kind = ?) ORDER BY idx"
)
REMANUFACTURED = entry_kind(EventKind.REMANUFACTURE)


def replay_lots(conn: Connection, base_url: str, size: int, *, since: int = 0) -> Balances:
    """Recompute every lot's mass and claims from the first `size` entries of the log; raise
    LedgerInconsistent at the first entry that overdraws a lot or claims one that is not.
    Claims logged before `since` (an upgraded instance's, never drawn from recorded lots) are
    not counted."""
    balances = Balances()
    kinds = (
        EntryKind.LOT_PRODUCED.value,
        *sorted(k.value for k in PASSPORT_KINDS),
        REMANUFACTURED,
    )
    for index, kind, raw in driver_query(conn, _ENTRIES, (size, *kinds)):
        entry = stored_bytes(raw)
        if kind == EntryKind.LOT_PRODUCED:
            credential = orjson.loads(credential_of(entry, kind))
            lot = lot_of(credential)
            if lot is None:
                raise LedgerInconsistent(f"entry {index}: a lot entry states no lot")
            subject = credential["credentialSubject"]["id"]
            balances.produce(subject, lot["material"], lot["mass_g"], index=index)
        elif kind == REMANUFACTURED:
            balances.release(orjson.loads(credential_of(entry, kind))["credentialSubject"]["id"])
        elif index >= since and (
            b'"recycled_content"' in entry or kind == EntryKind.PASSPORT_CORRECTED
        ):
            subject = orjson.loads(credential_of(entry, kind))["credentialSubject"]
            try:
                drawn = drawn_from(subject["product"], base_url)
            except InvalidInput as exc:
                raise LedgerInconsistent(f"entry {index}: {exc.detail}") from None
            balances.claim(subject["id"], drawn, index=index)
    return balances


def check_lots(conn: Connection, base_url: str, size: int) -> None:
    """The kept balances are the replayed ones; raise LedgerInconsistent naming a lot if not."""
    since = driver_query(conn, "SELECT claims_from FROM instance WHERE id = 1", ())
    balances = replay_lots(conn, base_url.rstrip("/"), size, since=since[0][0] if since else 0)
    kept = {
        f"{base_url.rstrip('/')}/{lot}": (mass, claimed)
        for lot, mass, claimed in driver_query(
            conn, "SELECT id, mass_g, claimed_g FROM material_lot", ()
        )
    }
    logged = {lot: (balances.mass[lot], balances.claimed[lot]) for lot in balances.mass}
    for lot in sorted(set(kept) | set(logged)):
        if kept.get(lot) != logged.get(lot):
            raise LedgerInconsistent(
                f"lot {lot}: the service keeps (mass, claimed) {kept.get(lot)}, the log gives "
                f"{logged.get(lot)}"
            )
