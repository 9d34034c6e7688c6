"""The graph around a passport: what it came from and what came of it.

Nodes are passports and material lots, each with its status and the ledger index of the entry
that made it (a passport's first version, a lot's credential). Edges say how one led to the
other: `remanufactured-into` (predecessor → successor), `recycled-into` (a consumed passport →
a lot its run produced) and `drawn-into` (a lot → a passport claiming recycled content from it
in its current version). The walk follows remanufacture links both ways to the ends of the
chain and one step of recycling and claims on either side of each passport on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlmodel import Session

from passport.core.lifecycle.vocabulary import EventKind, entry_kind
from passport.core.log.kinds import credential_of
from passport.services.context import ServiceContext
from passport.services.passports.read import load_passport
from passport.store.sql import driver_query, stored_bytes

_PASSPORT = (
    "SELECT p.id, p.status, p.predecessor_id, h.ledger_index FROM passport p"
    " JOIN history_entry h ON h.passport_id = p.id AND h.sequence = 1 WHERE p.id = ?"
)
_SUCCESSORS = "SELECT id FROM passport WHERE predecessor_id = ?"
_RECYCLED = (
    "SELECT e.entry FROM history_entry h JOIN ledger_entry e ON e.idx = h.ledger_index"
    " WHERE h.passport_id = ? AND h.kind = ?"
)
_LOTS_OF_BATCH = "SELECT id, mass_g - claimed_g, ledger_index FROM material_lot WHERE batch = ?"
# Claims that count are those of each passport's newest version, unless it was superseded.
_CURRENT = (
    " c.sequence = (SELECT MAX(v.sequence) FROM history_entry v"
    " WHERE v.passport_id = c.passport_id AND v.version IS NOT NULL)"
    " AND c.passport_id NOT IN (SELECT id FROM passport WHERE status = 'superseded')"
)
_SOURCES = (
    "SELECT l.id, l.mass_g - l.claimed_g, l.ledger_index FROM lot_claim c"
    " JOIN material_lot l ON l.id = c.lot_id WHERE c.passport_id = ? AND" + _CURRENT
)
_CLAIMANTS = "SELECT c.passport_id FROM lot_claim c WHERE c.lot_id = ? AND" + _CURRENT
RECYCLED = entry_kind(EventKind.RECYCLE)


@dataclass(slots=True)
class Lineage:
    """The nodes (by id) and edges found so far."""

    base_url: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)

    def passport(self, sess: Session, passport_id: str) -> str | None:
        """Add a passport node; return its predecessor's id."""
        rows = driver_query(sess.connection(), _PASSPORT, (passport_id,))
        if not rows:
            return None
        _, status, predecessor, index = rows[0]
        self.nodes[passport_id] = {
            "id": passport_id,
            "uri": f"{self.base_url}/{passport_id}",
            "type": "passport",
            "status": status,
            "ledger_index": index,
        }
        return str(predecessor) if predecessor is not None else None

    def lot(self, lot_id: str, remaining: int, index: int) -> None:
        """Add a lot node."""
        self.nodes[lot_id] = {
            "id": lot_id,
            "uri": f"{self.base_url}/{lot_id}",
            "type": "lot",
            "status": "available" if remaining else "claimed",
            "remaining_g": remaining,
            "ledger_index": index,
        }


def lineage(sess: Session, ctx: ServiceContext, path: str) -> dict[str, Any]:
    """Return the graph around a passport: `passport`, `nodes` and `edges`."""
    _, row = load_passport(sess, path)
    graph = Lineage(ctx.base_url)
    chain = _chain(sess, graph, row.id)
    conn = sess.connection()
    for passport_id in chain:
        for lot_id, remaining, index in driver_query(conn, _SOURCES, (passport_id,)):
            graph.lot(lot_id, remaining, index)
            graph.edges.add((lot_id, passport_id, "drawn-into"))
        for (entry,) in driver_query(conn, _RECYCLED, (passport_id, RECYCLED)):
            event = orjson.loads(credential_of(stored_bytes(entry), RECYCLED))
            for lot_id, remaining, index in driver_query(
                conn, _LOTS_OF_BATCH, (event["credentialSubject"]["event"]["batch"],)
            ):
                graph.lot(lot_id, remaining, index)
                graph.edges.add((passport_id, lot_id, "recycled-into"))
                for (claimant,) in driver_query(conn, _CLAIMANTS, (lot_id,)):
                    graph.passport(sess, claimant)
                    graph.edges.add((lot_id, claimant, "drawn-into"))
    edges = [{"source": a, "to": b, "relation": r} for a, b, r in sorted(graph.edges)]
    nodes = sorted(graph.nodes.values(), key=lambda node: node["ledger_index"])
    return {"passport": row.id, "nodes": nodes, "edges": edges}


def _chain(sess: Session, graph: Lineage, start: str) -> list[str]:
    """Add the remanufacture chain through `start`, both ways; return its passports."""
    chain, seen = [], set()
    todo = [start]
    while todo:
        passport_id = todo.pop()
        if passport_id in seen:
            continue
        seen.add(passport_id)
        chain.append(passport_id)
        predecessor = graph.passport(sess, passport_id)
        if predecessor is not None:
            graph.edges.add((predecessor, passport_id, "remanufactured-into"))
            todo.append(predecessor)
        for (successor,) in driver_query(sess.connection(), _SUCCESSORS, (passport_id,)):
            graph.edges.add((passport_id, successor, "remanufactured-into"))
            todo.append(successor)
    return chain
