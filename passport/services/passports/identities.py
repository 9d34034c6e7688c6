"""Passport identities: which are taken, and the rows of new ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.product.gs1 import DigitalLink
from passport.store.sql import driver_query
from passport.store.tables import PassportRow, table_of


def taken(sess: Session, links: Sequence[DigitalLink]) -> set[str]:
    """Return the paths among `links` whose id or GTIN+serial is already used: one driver
    statement per 500 links (a single issuance is one statement)."""
    found: set[str] = set()
    for start in range(0, len(links), 500):
        chunk = links[start : start + 500]
        serials = [link for link in chunk if link.serial is not None]
        sql = f"SELECT id, gtin, serial FROM passport WHERE id IN ({', '.join('?' * len(chunk))})"
        sql += " OR (gtin = ? AND serial = ?)" * len(serials)
        params: list[str | None] = [link.path for link in chunk]
        params += [value for link in serials for value in (link.gtin, link.serial)]
        rows = driver_query(sess.connection(), sql, params)
        ids = {row[0] for row in rows}
        pairs = {(row[1], row[2]) for row in rows}
        found |= {
            link.path
            for link in chunk
            if link.path in ids or (link.serial is not None and (link.gtin, link.serial) in pairs)
        }
    return found


def passport_row(
    link: DigitalLink,
    category: str,
    org_id: int,
    *,
    at: datetime,
    predecessor_id: str | None = None,
) -> dict[str, Any]:
    """Return the passport table row of a new passport (for `insert_passports`)."""
    return {
        "id": link.path,
        "gtin": link.gtin,
        "variant": link.variant,
        "lot": link.lot,
        "serial": link.serial,
        "granularity": link.granularity.value,
        "category": category,
        "org_id": org_id,
        "created_at": at,
        "status": "active",
        "predecessor_id": predecessor_id,
    }


def insert_passports(sess: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert passport rows in the caller's transaction (one statement, no ORM bookkeeping)."""
    if rows:
        sess.connection().execute(insert(table_of(PassportRow)), list(rows))
