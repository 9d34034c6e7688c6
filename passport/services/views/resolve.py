"""What a Digital Link URI of this service names: a passport at its own level or a coarser
one (item → batch → model, GS1 resolver fallback), or a material lot.

Read on a connection the caller gives: the resolver passes a bare pooled one, since most
scans are answered by this one read (a redirect) and an ORM session would cost as much
again to open and close.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from passport.core.product.gs1 import DigitalLink
from passport.store.sql import driver_query

_LOT = "SELECT id FROM material_lot WHERE id = ?"


def coarser(link: DigitalLink) -> list[DigitalLink]:
    """Return `link` and its coarser levels: item → batch → model (with and without 22)."""
    levels = [
        link,
        DigitalLink(link.gtin, link.variant, link.lot),
        DigitalLink(link.gtin, link.variant),
        DigitalLink(link.gtin),
    ]
    unique: dict[str, DigitalLink] = {}
    for level in levels:
        unique.setdefault(level.path, level)
    return list(unique.values())


def resolved(conn: Connection, link: DigitalLink) -> tuple[str, str] | None:
    """Return ("passport" | "lot", path) of the finest thing this ledger has for `link`."""
    levels = coarser(link)
    marks = ", ".join("?" for _ in levels)
    sql = f"SELECT id FROM passport WHERE id IN ({marks})"
    found = {row[0] for row in driver_query(conn, sql, tuple(level.path for level in levels))}
    # A material lot is named `01/{gtin}/10/{lot}` exactly: only such a path may be one.
    maybe_lot = link.lot is not None and link.serial is link.variant is None
    if link.path not in found and maybe_lot and driver_query(conn, _LOT, (link.path,)):
        return "lot", link.path
    return next((("passport", lv.path) for lv in levels if lv.path in found), None)
