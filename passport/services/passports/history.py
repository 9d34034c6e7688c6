"""What issuing and correcting share: the caller's signer, views and history rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.log.kinds import EntryKind, entry_bytes
from passport.core.log.merkle import leaf_hash
from passport.core.product.access import Caller, Tier
from passport.core.product.credentials import SignedVersion, Signer
from passport.core.product.gs1 import DigitalLink
from passport.core.signing.did import signing_method
from passport.services.context import ServiceContext
from passport.services.ledger.log import NewEntry, append
from passport.services.orgs.organisations import current_key_id
from passport.store.tables import HistoryEntryRow, RestrictedCredentialRow, table_of


@dataclass(frozen=True, slots=True)
class PassportView:
    """A passport version as a caller may see it: the public credential and readable tiers."""

    id: str
    uri: str
    category: str
    granularity: str
    version: int
    sequence: int
    credential: dict[str, Any]
    restricted: dict[Tier, dict[str, Any]]
    ledger_index: int | None = None


def signer_for(sess: Session, ctx: ServiceContext, caller: Caller) -> Signer:
    key_id = current_key_id(sess, caller.org_id)
    did, method = signing_method(ctx.base_url, caller.slug, key_id)
    return Signer(
        did=did, verification_method=method, private_key=ctx.keys.load(caller.slug, key_id)
    )


def view_of(
    link: DigitalLink,
    base_url: str,
    category: str,
    *,
    version: int,
    sequence: int,
    signed: SignedVersion,
) -> PassportView:
    return PassportView(
        id=link.path,
        uri=link.uri(base_url),
        category=category,
        granularity=link.granularity.value,
        version=version,
        sequence=sequence,
        credential=signed.public,
        restricted=signed.restricted,
    )


def record_versions(
    sess: Session,
    views: Sequence[PassportView],
    signed: Sequence[SignedVersion],
    kind: EntryKind,
    *,
    at: datetime,
) -> list[PassportView]:
    """Append the versions to the ledger and store their rows, in the caller's transaction.

    Returns the views with their ledger indices. The stored credential is the exact JCS text
    inside the logged entry, so what is served is what was logged.
    """
    if not views:
        return []
    logged = [entry_bytes(kind, version.public_jcs) for version in signed]
    indices = append(
        sess,
        [NewEntry(kind.value, entry, view.id) for view, entry in zip(views, logged, strict=True)],
        at=at,
    )
    entries, restricted = [], []
    for view, version, entry, index in zip(views, signed, logged, indices, strict=True):
        entries.append(
            {
                "passport_id": view.id,
                "sequence": view.sequence,
                "kind": kind.value,
                "version": view.version,
                "credential": version.public_jcs.decode(),
                "entry_hash": leaf_hash(entry).hex(),
                "ledger_index": index,
                "created_at": at,
            }
        )
        restricted += [
            {
                "passport_id": view.id,
                "sequence": view.sequence,
                "tier": tier.value,
                "credential": jcs.decode(),
            }
            for tier, jcs in version.restricted_jcs.items()
        ]
    connection = sess.connection()  # Core inserts: thousands of rows, no ORM bookkeeping
    connection.execute(insert(table_of(HistoryEntryRow)), entries)
    if restricted:
        connection.execute(insert(table_of(RestrictedCredentialRow)), restricted)
    return [replace(view, ledger_index=index) for view, index in zip(views, indices, strict=True)]
