"""An organisation's Bitstring Status List credentials, made from the passports' states.

A version's status is its passport's (active, superseded or end of life) while it is the
passport's current version, and superseded once a newer version exists. The list is built
when asked for and signed with the organisation's current key, so it always says what the
service knows now (`passport.core.lifecycle.status`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from passport.core.errors import NotFound
from passport.core.lifecycle.status import CAPACITY, SUPERSEDED, VALUES, status_list
from passport.core.product.access import Caller
from passport.core.signing.dataintegrity import format_created, sign_credential
from passport.services.context import ServiceContext
from passport.services.orgs.organisations import get_organisation, signer_for
from passport.store.sql import driver_query

_ENTRIES = (
    "SELECT h.status_index, h.sequence, p.status, (SELECT MAX(v.sequence) FROM history_entry v"
    " WHERE v.passport_id = h.passport_id AND v.version IS NOT NULL)"
    " FROM history_entry h JOIN passport p ON p.id = h.passport_id"
    " WHERE h.org_id = ? AND h.status_index >= ? AND h.status_index < ?"
)


def signed_status_list(
    sess: Session, ctx: ServiceContext, slug: str, number: int, *, at: datetime
) -> dict[str, Any]:
    """Return status list `number` of organisation `slug`, signed now."""
    org = get_organisation(sess, slug)
    if not 0 <= number < 2**62 // CAPACITY:
        raise NotFound(f"{slug} has no status list {number}")
    start = number * CAPACITY
    values: dict[int, int] = {}
    for index, sequence, status, current in driver_query(
        sess.connection(), _ENTRIES, (org.id, start, start + CAPACITY)
    ):
        values[index - start] = VALUES[status] if sequence == current else SUPERSEDED
    if not values and number > 0:
        used = driver_query(
            sess.connection(),
            "SELECT MAX(status_index) FROM history_entry WHERE org_id = ?",
            (org.id,),
        )[0][0]
        if used is None or used < start:
            raise NotFound(f"{slug} has no status list {number}")
    signer = signer_for(sess, ctx, Caller(org_id=org.id, slug=org.slug, roles=org.roles))
    document = status_list(ctx.base_url, slug, signer.did, number, values, format_created(at))
    signed = sign_credential(
        document,
        private_key=signer.private_key,
        verification_method=signer.verification_method,
        created=at,
    )
    return signed.credential
