"""Remanufacture: the new passport that succeeds the old one, issued in the event's write.

The remanufacturer issues the successor under one of its own GS1 company prefixes and signs
it; its first version names the predecessor (`predecessor`), and the remanufacture event on
the predecessor names the successor, so the link holds both ways in the log. Both entries,
the successor's row and the predecessor's status enter the ledger in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from passport.core.errors import Conflict, InvalidInput, PassportError
from passport.core.lifecycle.lots import Drawn
from passport.core.lifecycle.status import status_entry
from passport.core.log.kinds import EntryKind
from passport.core.product.access import Caller
from passport.core.product.credentials import SignedVersion, VersionClaim, sign_version
from passport.core.product.gs1 import (
    SERIAL_ENTROPY_BYTES,
    DigitalLink,
    Granularity,
    make_link,
    normalise_gtin,
)
from passport.services.context import ServiceContext
from passport.services.orgs.organisations import signer_for
from passport.services.orgs.prefixes import check_ownership, prefixes_of
from passport.services.passports.claims import Claims, check_drawn, take_claims
from passport.services.passports.history import record_versions
from passport.services.passports.identities import insert_passports, passport_row, taken
from passport.services.passports.read import get_passport
from passport.services.passports.views import PassportView, view_of
from passport.store.tables import PassportRow

FIELD = "event.successor"


@dataclass(frozen=True, slots=True)
class Successor:
    """The signed first version of a remanufactured product's passport, not yet stored."""

    link: DigitalLink
    category: str
    view: PassportView
    signed: SignedVersion
    status_index: int
    drawn: tuple[Drawn, ...]  # the recycled content it claims from lots


def _under(prefix: str, exc: PassportError) -> PassportError:
    """Name the fields of `exc` under `prefix` (the successor lies inside the event)."""
    exc.errors = {f"{prefix}.{key}": messages for key, messages in exc.errors.items()}
    return exc


def _product(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller,
    predecessor: PassportRow,
    request: Mapping[str, Any],
) -> Any:
    """The successor's product data: as given, or the predecessor's data as far as the
    remanufacturer may read it (public and legitimate-interest tiers), changed."""
    if "product" in request:
        if "changes" in request:
            raise InvalidInput(
                "the successor takes product or changes, not both",
                errors={"changes": ["not with product"]},
            )
        return request["product"]
    stored = get_passport(sess, ctx, caller, predecessor.id)
    product: dict[str, Any] = {}
    for credential in (stored.credential, *stored.restricted.values()):
        product |= orjson.loads(credential)["credentialSubject"]["product"]
    for field, value in request.get("changes", {}).items():
        if value is None:
            product.pop(field, None)
        else:
            product[field] = value
    return product


def prepare_successor(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller,
    predecessor: PassportRow,
    predecessor_uri: str,
    request: Mapping[str, Any],
    *,
    at: datetime,
) -> Successor:
    """Check and sign the successor's first version; raise naming `event.successor.…`."""
    try:
        gtin = normalise_gtin(request["gtin"])
    except InvalidInput as exc:
        raise _under(FIELD, exc) from None
    try:
        check_ownership(caller.slug, prefixes_of(sess, caller.org_id), {1: gtin})
    except PassportError as exc:
        exc.errors = {f"{FIELD}.gtin": [exc.detail]}
        raise
    category = predecessor.category
    try:
        product = ctx.rules.validate(category, _product(sess, ctx, caller, predecessor, request))
        drawn = check_drawn(sess, ctx.base_url, product)
        link = make_link(
            gtin=gtin,
            granularity=Granularity(request.get("granularity", predecessor.granularity)),
            variant=request.get("variant"),
            lot=request.get("lot"),
            serial=request.get("serial"),
            entropy=secrets.token_bytes(SERIAL_ENTROPY_BYTES),
        )
    except InvalidInput as exc:
        raise _under(FIELD, exc) from None
    if taken(sess, [link]):
        raise Conflict(f"{link.path} is already used", errors={f"{FIELD}.serial": ["already used"]})
    [index] = ctx.status.take(caller.org_id, 1)
    claim = VersionClaim(
        subject_id=link.uri(ctx.base_url),
        category=category,
        granularity=link.granularity.value,
        sequence=1,
        previous_entry=None,
        supersedes=None,
        tiers=ctx.rules.split_tiers(category, product),
        predecessor=predecessor_uri,
        status=status_entry(ctx.base_url, caller.slug, index),
    )
    signed = sign_version(
        claim,
        signer=signer_for(sess, ctx, caller),
        base_url=ctx.base_url,
        at=at,
        random_bytes=secrets.token_bytes,
    )
    view = view_of(link, ctx.base_url, category, version=1, sequence=1, signed=signed)
    return Successor(link, category, view, signed, index, drawn)


def store_successor(
    sess: Session,
    ctx: ServiceContext,
    successor: Successor,
    org_id: int,
    predecessor_id: str,
    *,
    at: datetime,
) -> PassportView:
    """Store the successor's row, log its first version and take its recycled-content claims
    (the predecessor's are released first, by the caller), in the caller's transaction."""
    row = passport_row(
        successor.link, successor.category, org_id, at=at, predecessor_id=predecessor_id
    )
    insert_passports(sess, [row])
    [logged] = record_versions(
        sess,
        [successor.view],
        [successor.signed],
        EntryKind.PASSPORT_ISSUED,
        org_id=org_id,
        status_indices=[successor.status_index],
        at=at,
    )
    if successor.drawn:
        take_claims(sess, ctx.base_url, [Claims(successor.link.path, 1, successor.drawn)])
    return logged
