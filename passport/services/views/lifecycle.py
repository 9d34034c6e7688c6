"""What a passport's lifecycle page shows: the product, its history with marks, its links.

One read for the resolver's HTML page: the current version's public product data and the
restricted tiers the reader may see (the one read policy, `passport.core.product.access`,
applied by `stored_history`), every version and event in log order with the organisation
that signed it and the service's mark (`passport.services.ledger.marks`), and the lineage:
predecessor, successors, the lots its recycled content came from and the lots it became.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.engine import Connection
from sqlmodel import Session

from passport.core.log.kinds import EntryKind, is_event
from passport.core.product.access import Caller, Tier, tiers_for
from passport.core.signing.canonical import canonicalize
from passport.core.signing.did import did_web
from passport.services.context import ServiceContext
from passport.services.events.lineage import lineage
from passport.services.events.lots import LotView, get_lot
from passport.services.events.read import StoredEntry, stored_history
from passport.services.ledger.marks import (
    Mark,
    Shown,
    key_version,
    marks_for,
    newest_checkpoint,
)
from passport.store.sql import driver_query


@dataclass(frozen=True, slots=True)
class Actor:
    """An organisation that signed something, as a page names it."""

    slug: str
    name: str
    did: str


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One version or event of the history."""

    sequence: int
    kind: str
    version: int | None
    ledger_index: int
    subject: dict[str, Any]  # the public credentialSubject
    restricted: dict[Tier, dict[str, Any]]  # the restricted subjects the reader may see
    signer: Actor
    valid_from: str
    mark: Mark
    # The restricted credentials the reader may see, as signed (JCS text), for auditors.
    signed_restricted: dict[Tier, str] = field(default_factory=dict)

    @property
    def is_event(self) -> bool:
        """Whether this entry is a lifecycle event (else a passport version)."""
        return is_event(self.kind)

    @property
    def event(self) -> dict[str, Any]:
        """The event's public fields merged with the restricted ones the reader may see."""
        merged = dict(self.subject.get("event", {}))
        for tier in (Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY):
            merged |= self.restricted.get(tier, {}).get("event", {})
        return merged


@dataclass(frozen=True, slots=True)
class LotLink:
    """A material lot linked to the passport."""

    id: str
    remaining_g: int


@dataclass(frozen=True, slots=True)
class LifecyclePage:
    """Everything the lifecycle page of one passport shows, for one reader."""

    id: str
    uri: str
    category: str
    granularity: str
    status: str
    product: dict[str, Any]
    restricted: dict[Tier, dict[str, Any]]
    issuer: Actor
    entries: list[PageEntry]
    predecessor: str | None
    successors: list[str]
    source_lots: list[LotLink]
    produced_lots: list[LotLink]
    checkpoint_size: int | None
    tiers: frozenset[Tier]


@dataclass(frozen=True, slots=True)
class LotPage:
    """What the page of a material lot shows: the lot, who produced it, the service's mark."""

    lot: LotView
    producer: Actor
    entry: PageEntry
    checkpoint_size: int | None


_ORGS = "SELECT id, slug, name FROM organisation WHERE slug IN ({})"
_VERSION = (
    "SELECT p.status, (SELECT MAX(h.sequence) FROM history_entry h WHERE h.passport_id = p.id),"
    " (SELECT MAX(c.size) FROM checkpoint c), (SELECT size FROM ledger_head WHERE id = 1)"
    " FROM passport p WHERE p.id = ?"
)


def page_version(conn: Connection, passport_id: str) -> tuple[Any, ...] | None:
    """Return what a passport's page depends on that can change, in one read: its status,
    its newest history entry, the newest checkpoint (the marks) and the key entries (a
    revocation changes marks); None for no such passport. A page made for one version is
    the page of every reader of the same tiers until the version changes (a remanufacture
    or a recycling adds an entry to this history, so its links change with it).

    One read, on any connection (the resolver passes a bare one: most scans are of pages
    kept, and an ORM session would cost as much again)."""
    rows = driver_query(conn, _VERSION, (passport_id,))
    if not rows:
        return None
    status, newest, checkpoint, size = rows[0]
    return (status, newest, checkpoint, key_version(conn, int(size)))


def _actors(sess: Session, ctx: ServiceContext, dids: set[str]) -> dict[str, tuple[int, Actor]]:
    """Return the organisation behind each DID of this service, by DID."""
    slugs = {did: did.rsplit(":", 1)[-1] for did in dids}
    slugs = {did: slug for did, slug in slugs.items() if did_web(ctx.base_url, slug) == did}
    if not slugs:
        return {}
    sql = _ORGS.format(", ".join("?" for _ in slugs))
    rows = driver_query(sess.connection(), sql, tuple(sorted(set(slugs.values()))))
    by_slug = {slug: (org_id, name) for org_id, slug, name in rows}
    return {
        did: (by_slug[slug][0], Actor(slug, by_slug[slug][1], did))
        for did, slug in slugs.items()
        if slug in by_slug
    }


def lifecycle_page(
    sess: Session, ctx: ServiceContext, caller: Caller | None, path: str
) -> LifecyclePage:
    """Return the page of the passport at Digital Link `path`, as `caller` may read it."""
    history = stored_history(sess, ctx, caller, path, events_only=False)
    parsed = [(entry, orjson.loads(entry.credential)) for entry in history.entries]
    actors = _actors(sess, ctx, {str(credential["issuer"]) for _, credential in parsed})
    checkpoint = newest_checkpoint(sess)
    shown = [Shown(e.ledger_index, e.kind, e.credential, c) for e, c in parsed]
    marks = marks_for(sess, shown, checkpoint)
    entries = [_entry(entry, credential, actors, marks) for entry, credential in parsed]
    current = next(e for e in reversed(entries) if not e.is_event)
    issuer_id, issuer = actors.get(current.signer.did, (-1, current.signer))
    graph = lineage(sess, ctx, history.passport)
    return LifecyclePage(
        id=history.passport,
        uri=history.uri,
        category=str(current.subject.get("category", "")),
        granularity=str(current.subject.get("granularity", "")),
        status=history.status,
        product=dict(current.subject.get("product", {})),
        restricted={tier: dict(s.get("product", {})) for tier, s in current.restricted.items()},
        issuer=issuer,
        entries=entries,
        **_links(graph, history.passport),
        checkpoint_size=checkpoint.size if checkpoint else None,
        tiers=tiers_for(caller, issuer_org_id=issuer_id),
    )


def lot_page(sess: Session, ctx: ServiceContext, path: str) -> LotPage:
    """Return the page of the material lot at Digital Link `path`."""
    lot = get_lot(sess, ctx, path)
    did = str(lot.credential["issuer"])
    _, producer = _actors(sess, ctx, {did}).get(did, (-1, Actor(did, did, did)))
    text = canonicalize(lot.credential)
    checkpoint = newest_checkpoint(sess)
    shown = [Shown(lot.ledger_index, EntryKind.LOT_PRODUCED, text, lot.credential)]
    marks = marks_for(sess, shown, checkpoint)
    entry = PageEntry(
        sequence=0,
        kind=EntryKind.LOT_PRODUCED,
        version=None,
        ledger_index=lot.ledger_index,
        subject=dict(lot.credential.get("credentialSubject", {})),
        restricted={},
        signer=producer,
        valid_from=str(lot.credential.get("validFrom", "")),
        mark=marks[lot.ledger_index],
    )
    return LotPage(lot, producer, entry, checkpoint.size if checkpoint else None)


def _entry(
    entry: StoredEntry,
    credential: dict[str, Any],
    actors: dict[str, tuple[int, Actor]],
    marks: dict[int, Mark],
) -> PageEntry:
    did = str(credential["issuer"])
    _, signer = actors.get(did, (-1, Actor(did, did, did)))
    return PageEntry(
        sequence=entry.sequence,
        kind=entry.kind,
        version=entry.version,
        ledger_index=entry.ledger_index,
        subject=dict(credential.get("credentialSubject", {})),
        restricted={
            tier: dict(orjson.loads(text).get("credentialSubject", {}))
            for tier, text in entry.restricted.items()
        },
        signer=signer,
        valid_from=str(credential.get("validFrom", "")),
        mark=marks[entry.ledger_index],
        signed_restricted={tier: text.decode() for tier, text in entry.restricted.items()},
    )


def _links(graph: dict[str, Any], passport: str) -> dict[str, Any]:
    """Pick the page's links out of the lineage graph."""
    nodes = {node["id"]: node for node in graph["nodes"]}

    def lot(lot_id: str) -> LotLink:
        return LotLink(lot_id, int(nodes.get(lot_id, {}).get("remaining_g", 0)))

    edges = [(e["source"], e["to"], e["relation"]) for e in graph["edges"]]
    return {
        "predecessor": next(
            (a for a, b, r in edges if b == passport and r == "remanufactured-into"), None
        ),
        "successors": [b for a, b, r in edges if a == passport and r == "remanufactured-into"],
        "source_lots": [lot(a) for a, b, r in edges if b == passport and r == "drawn-into"],
        "produced_lots": [lot(b) for a, b, r in edges if a == passport and r == "recycled-into"],
    }
