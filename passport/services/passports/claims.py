"""Recycled-content claims against material lots, taken in the issuing transaction.

A passport version's public product data names the grams it draws from each lot
(`recycled_content[].lots[]`). Before signing, each lot must exist on this ledger and hold
the claimed material (422 otherwise). Inside the write transaction, under the ledger's lock,
each lot's claimed grams grow by what the version adds (a correction first releases what
the version before it claimed) with a conditional UPDATE that refuses to pass the lot's mass
(409): two concurrent claims can never both take the last gram, on SQLite or PostgreSQL.
A CHECK constraint on `material_lot` holds the same line in the database itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.errors import Conflict, InvalidInput
from passport.core.lifecycle.lots import Drawn, drawn_from
from passport.core.product.gs1 import parse_path
from passport.store.sql import driver_query
from passport.store.tables import LotClaimRow, table_of


@dataclass(frozen=True, slots=True)
class Claims:
    """What one new passport version draws, and the sequence of the version it replaces."""

    passport_id: str
    sequence: int
    drawn: tuple[Drawn, ...]
    replaces: int | None = None  # the previous version's sequence (a correction)


def check_drawn(sess: Session, base_url: str, product: Mapping[str, object]) -> tuple[Drawn, ...]:
    """Return what a product draws from lots; raise InvalidInput naming an unknown lot or one
    of another material."""
    drawn = drawn_from(product, base_url)
    if not drawn:
        return ()
    paths = {item.lot: item.lot.removeprefix(base_url + "/") for item in drawn}
    sql = f"SELECT id, material FROM material_lot WHERE id IN ({', '.join('?' * len(paths))})"
    found = dict(driver_query(sess.connection(), sql, list(paths.values())))
    errors: dict[str, list[str]] = {}
    for item in drawn:
        material = found.get(paths[item.lot])
        if material is None:
            errors[item.path] = [f"no material lot {item.lot} on this ledger"]
        elif material != item.material:
            errors[item.path] = [f"lot {item.lot} holds {material}, not {item.material}"]
    if errors:
        raise InvalidInput("recycled content names lots it cannot draw on", errors=errors)
    return tuple(drawn)


def lot_path(uri: str, base_url: str) -> str:
    """A lot's id (its Digital Link path) from its URI on this ledger."""
    return parse_path(uri.removeprefix(base_url + "/")).path


_TAKE = "UPDATE material_lot SET claimed_g = claimed_g + ? WHERE id = ? AND claimed_g + ? <= mass_g"


def take_claims(sess: Session, base_url: str, claims: Sequence[Claims]) -> None:
    """Record the versions' claims and move each lot's claimed grams, in the caller's
    transaction; raise Conflict naming a lot that would be overdrawn."""
    delta: dict[str, int] = {}
    rows = []
    for item in claims:
        grams: dict[str, int] = {}
        for drawn in item.drawn:
            lot = lot_path(drawn.lot, base_url)
            grams[lot] = grams.get(lot, 0) + drawn.grams
        rows += [
            {"passport_id": item.passport_id, "sequence": item.sequence, "lot_id": lot, "mass_g": g}
            for lot, g in grams.items()
        ]
        if item.replaces is not None:
            for lot, g in driver_query(
                sess.connection(),
                "SELECT lot_id, mass_g FROM lot_claim WHERE passport_id = ? AND sequence = ?",
                (item.passport_id, item.replaces),
            ):
                grams[lot] = grams.get(lot, 0) - g
        for lot, g in grams.items():
            delta[lot] = delta.get(lot, 0) + g
    # Releases first, then takes, each lot once, in a fixed order (no deadlock between writers).
    for lot, g in sorted(delta.items(), key=lambda item: (item[1] > 0, item[0])):
        if g == 0:
            continue
        changed = driver_query(
            sess.connection(),
            _TAKE,
            (g, lot, g),
            rowcount=True,
        )
        if changed != 1:
            left = driver_query(
                sess.connection(),
                "SELECT mass_g - claimed_g FROM material_lot WHERE id = ?",
                (lot,),
            )
            raise Conflict(
                f"lot {lot} holds {left[0][0]} g that no passport claims; {g} g more were claimed",
                errors={"product.recycled_content": [f"lot {lot} would be overdrawn"]},
            )
    if rows:
        sess.connection().execute(insert(table_of(LotClaimRow)), rows)
