"""Recycling: one run consumes passports and produces material lots, in one transaction.

Each consumed passport gets a recycle event in its own history (signed by the recycler, each
naming every input, every lot and the loss) and ends its life; each lot gets a Digital Link
batch id under the recycler's GTIN and a credential of its own (`lot:produced`). The lots'
masses never exceed the run's input mass (`passport.core.lifecycle.rules`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.errors import Conflict, InvalidInput, NotFound, PassportError
from passport.core.lifecycle.credentials import EventClaim, sign_event
from passport.core.lifecycle.lots import LotClaim, sign_lot
from passport.core.lifecycle.states import Status, after
from passport.core.lifecycle.vocabulary import EventKind
from passport.core.log.kinds import EntryKind, entry_bytes
from passport.core.product.access import Caller, Tier
from passport.core.product.credentials import SignedVersion, Signer
from passport.core.product.gs1 import (
    SERIAL_ENTROPY_BYTES,
    DigitalLink,
    Granularity,
    make_link,
    normalise_gtin,
    path_on,
    serial_from,
)
from passport.services.context import ServiceContext
from passport.services.events.history import read_history, set_statuses
from passport.services.ledger.log import NewEntry, append
from passport.services.orgs.prefixes import check_ownership, prefixes_of
from passport.services.passports.history import HistoryPlace, record_history
from passport.services.passports.identities import taken
from passport.services.passports.read import load_passport
from passport.store.sql import driver_query
from passport.store.tables import MaterialLotRow, PassportRow, table_of


@dataclass(frozen=True, slots=True)
class NewLot:
    """A lot the run produced, signed, not yet stored."""

    link: DigitalLink
    uri: str
    material: str
    mass_g: int
    signed: SignedVersion


@dataclass(frozen=True, slots=True)
class Consumed:
    """A further passport the run consumed, with its signed recycle event."""

    passport: PassportRow
    sequence: int
    signed: SignedVersion


@dataclass(frozen=True, slots=True)
class Recycling:
    """What a recycling run adds besides the event on the passport it was recorded on."""

    batch: str
    lots: list[NewLot]
    consumed: list[Consumed]


def _inputs(
    sess: Session, base_url: str, requested: list[str], main: PassportRow
) -> list[tuple[PassportRow, str]]:
    """The further passports the run consumed, by path or URI on this ledger (404 otherwise)."""
    found: list[tuple[PassportRow, str]] = []
    for number, reference in enumerate(requested):
        field = f"event.inputs.{number}"
        path = path_on(reference, base_url)
        try:
            if path is None:
                raise NotFound(f"{reference} is not a passport of {base_url}")
            link, row = load_passport(sess, path)
        except PassportError as exc:
            exc.errors = {field: [exc.detail]}
            raise
        if row.id == main.id or row.id in {r.id for r, _ in found}:
            raise InvalidInput("a passport is consumed once", errors={field: ["named twice"]})
        found.append((row, link.path))
    return found


def _lots(
    sess: Session, ctx: ServiceContext, caller: Caller, outputs: list[Mapping[str, Any]]
) -> list[tuple[DigitalLink, Mapping[str, Any]]]:
    """Each output's lot id under the recycler's GTIN, unused (403, 409, 422 otherwise)."""
    held = prefixes_of(sess, caller.org_id)
    links: list[tuple[DigitalLink, Mapping[str, Any]]] = []
    for number, output in enumerate(outputs):
        field = f"event.outputs.{number}"
        try:
            gtin = normalise_gtin(output["gtin"])
            check_ownership(caller.slug, held, {number: gtin})
            lot = output.get("lot") or serial_from(secrets.token_bytes(SERIAL_ENTROPY_BYTES))
            link = make_link(gtin=gtin, granularity=Granularity.BATCH, lot=lot, entropy=b"")
        except PassportError as exc:
            exc.errors = {f"{field}.{k.rsplit('.', 1)[-1]}": v for k, v in exc.errors.items()}
            raise
        used = driver_query(
            sess.connection(),
            "SELECT 1 FROM material_lot WHERE id = ? OR (gtin = ? AND lot = ?)",
            (link.path, link.gtin, link.lot),
        )
        if used or taken(sess, [link]) or link.path in {k.path for k, _ in links}:
            raise Conflict(f"{link.path} is already used", errors={f"{field}.lot": ["used"]})
        links.append((link, output))
    return links


def prepare_recycling(
    sess: Session,
    ctx: ServiceContext,
    main: PassportRow,
    public: dict[str, Any],
    tiers: Mapping[Tier, Mapping[str, Any]],
    signer: Signer,
    *,
    caller: Caller,
    at: datetime,
) -> Recycling:
    """Check the run's inputs and outputs, sign its lots and the events of the further inputs,
    and rewrite `public` (the main event's public fields) as the events state the run."""
    further = _inputs(sess, ctx.base_url, public.pop("inputs", []), main)
    histories = [(row, read_history(sess, row.id)) for row, _ in further]
    for row, history in histories:
        after(history.state, EventKind.RECYCLE, passport=row.id)
    outputs = _lots(sess, ctx, caller, public.pop("outputs"))
    batch = uuid.UUID(bytes=secrets.token_bytes(16), version=4).urn
    inputs = [f"{ctx.base_url}/{main.id}", *(f"{ctx.base_url}/{row.id}" for row, _ in further)]
    lots = []
    for link, output in outputs:
        uri = link.uri(ctx.base_url)
        claim = LotClaim(uri, output["material"], output["mass_g"], public["occurred_at"], batch,
                         tuple(inputs))  # fmt: skip
        signed = sign_lot(
            claim, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
        )
        lots.append(NewLot(link, uri, output["material"], output["mass_g"], signed))
    produced = sum(lot.mass_g for lot in lots)
    public["batch"], public["inputs"] = batch, inputs
    public["outputs"] = [{"lot": lot.uri, "material": lot.material, "mass_g": lot.mass_g}
                         for lot in lots]  # fmt: skip
    public["loss_g"] = public["mass_in_g"] - produced
    consumed = []
    for row, history in histories:
        claim_of = EventClaim(f"{ctx.base_url}/{row.id}", EventKind.RECYCLE, history.sequence + 1,
                              history.last_entry, {**tiers, Tier.PUBLIC: public})  # fmt: skip
        signed = sign_event(
            claim_of, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
        )
        consumed.append(Consumed(row, claim_of.sequence, signed))
    return Recycling(batch, lots, consumed)


def store_recycling(
    sess: Session, recycling: Recycling, org_id: int, *, kind: str, at: datetime
) -> list[int]:
    """Log the further inputs' events and the lots, end the inputs' lives and store the lots,
    in the caller's transaction; return the lots' ledger indices."""
    for item in recycling.consumed:
        place = HistoryPlace(item.passport.id, item.sequence, None, org_id)
        record_history(sess, [place], [item.signed], kind, at=at)
    set_statuses(sess, [(Status.END_OF_LIFE, item.passport.id) for item in recycling.consumed])
    kind_of_lot = EntryKind.LOT_PRODUCED.value
    indices = append(
        sess,
        [
            NewEntry(kind_of_lot, entry_bytes(kind_of_lot, lot.signed.public_jcs))
            for lot in recycling.lots
        ],
        at=at,
    )
    rows = [
        {
            "id": lot.link.path,
            "gtin": lot.link.gtin,
            "lot": lot.link.lot,
            "material": lot.material,
            "mass_g": lot.mass_g,
            "claimed_g": 0,
            "org_id": org_id,
            "ledger_index": index,
            "batch": recycling.batch,
            "created_at": at,
        }
        for lot, index in zip(recycling.lots, indices, strict=True)
    ]
    sess.connection().execute(insert(table_of(MaterialLotRow)), rows)
    return indices
