"""What issuing and correcting share: the caller's signer, views and history rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from passport.core.access import Role, Tier
from passport.core.credentials import SignedVersion, Signer, entry_bytes, leaf_hash
from passport.core.errors import Forbidden
from passport.core.gs1 import DigitalLink
from passport.core.kinds import EntryKind
from passport.services.context import ServiceContext
from passport.services.orgs import current_key_id, signing_method
from passport.services.tokens import Caller
from passport.tables import HistoryEntryRow, RestrictedCredentialRow


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


def require_role(caller: Caller | None, role: Role) -> Caller:
    if caller is None:
        raise Forbidden(f"only a {role.value} may do this")
    if role not in caller.roles:
        raise Forbidden(f"only a {role.value} may do this; {caller.slug} is not one")
    return caller


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


def history_rows(
    views: Sequence[PassportView], signed: Sequence[SignedVersion], kind: EntryKind, at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entries, restricted = [], []
    for view, version in zip(views, signed, strict=True):
        entries.append(
            {
                "passport_id": view.id,
                "sequence": view.sequence,
                "kind": kind.value,
                "version": view.version,
                "credential": version.public_jcs.decode(),
                "entry_hash": leaf_hash(entry_bytes(kind, version.public_jcs)).hex(),
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
    return entries, restricted


def insert_history(
    sess: Session, entries: Sequence[dict[str, Any]], restricted: Sequence[dict[str, Any]]
) -> None:
    if entries:
        sess.execute(insert(HistoryEntryRow), entries)
    if restricted:
        sess.execute(insert(RestrictedCredentialRow), restricted)
