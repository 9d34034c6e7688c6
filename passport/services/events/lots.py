"""Material lots as callers see them: origin, mass, what passports claim and what remains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlmodel import Session

from passport.core.errors import InvalidInput, NotFound
from passport.core.log.kinds import EntryKind, credential_of
from passport.core.product.gs1 import parse_path
from passport.services.context import ServiceContext
from passport.services.events.recycle import NewLot
from passport.store.sql import driver_query, stored_bytes


@dataclass(frozen=True, slots=True)
class LotView:
    """A lot: its ids, material, mass, claims and the credential stating it."""

    id: str
    uri: str
    material: str
    mass_g: int
    ledger_index: int
    credential: dict[str, Any]
    claimed_g: int = 0
    claims: tuple[dict[str, Any], ...] = ()

    @property
    def remaining_g(self) -> int:
        """Grams no passport claims."""
        return self.mass_g - self.claimed_g


def lot_view(lot: NewLot, index: int) -> LotView:
    """The view of a lot just produced (nothing claimed yet)."""
    return LotView(lot.link.path, lot.uri, lot.material, lot.mass_g, index, lot.signed.public)


_LOT = (
    "SELECT l.material, l.mass_g, l.claimed_g, l.ledger_index, e.entry FROM material_lot l"
    " JOIN ledger_entry e ON e.idx = l.ledger_index WHERE l.id = ?"
)
# The claims that count: each passport's newest version's, unless it was remanufactured (its
# claims passed to its successor).
_CLAIMS = (
    "SELECT c.passport_id, c.sequence, c.mass_g, h.ledger_index FROM lot_claim c"
    " JOIN history_entry h ON h.passport_id = c.passport_id AND h.sequence = c.sequence"
    " JOIN passport p ON p.id = c.passport_id AND p.status <> 'superseded'"
    " WHERE c.lot_id = ? AND c.sequence = (SELECT MAX(sequence) FROM history_entry v"
    " WHERE v.passport_id = c.passport_id AND v.version IS NOT NULL) ORDER BY h.ledger_index"
)


def get_lot(sess: Session, ctx: ServiceContext, path: str) -> LotView:
    """Return a lot by its Digital Link path (`01/{gtin}/10/{lot}`); NotFound otherwise."""
    try:
        lot_id = parse_path(path).path
    except InvalidInput:
        raise NotFound(f"no material lot {path!r}") from None
    rows = driver_query(sess.connection(), _LOT, (lot_id,))
    if not rows:
        raise NotFound(f"no material lot {lot_id}")
    material, mass, claimed, index, entry = rows[0]
    credential = orjson.loads(credential_of(stored_bytes(entry), EntryKind.LOT_PRODUCED))
    claims = tuple(
        {"passport": passport, "sequence": sequence, "mass_g": grams, "ledger_index": logged}
        for passport, sequence, grams, logged in driver_query(sess.connection(), _CLAIMS, (lot_id,))
    )
    return LotView(
        lot_id, f"{ctx.base_url}/{lot_id}", material, mass, index, credential, claimed, claims
    )
