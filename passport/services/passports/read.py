"""Read passports by tier and correct them with new versions; nothing is edited in place."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, col, select

from passport.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from passport.core.lifecycle.status import status_entry
from passport.core.log.kinds import EntryKind, credential_of
from passport.core.product.access import Caller, Role, Tier, require_role, tiers_for
from passport.core.product.credentials import VersionClaim, sign_version
from passport.core.product.gs1 import DigitalLink, parse_path
from passport.services.context import ServiceContext
from passport.services.orgs.organisations import signer_for
from passport.services.passports.claims import Claims, check_drawn, take_claims
from passport.services.passports.history import record_versions
from passport.services.passports.idempotency import Remember
from passport.services.passports.views import PassportView, StoredView, view_of
from passport.store.packing import unpack
from passport.store.sql import driver_query, stored_bytes
from passport.store.tables import HistoryEntryRow, LedgerEntryRow, PassportRow


def load_passport(sess: Session, path: str) -> tuple[DigitalLink, PassportRow]:
    """Return the passport a Digital Link path names; NotFound names what is wrong."""
    link = _link_of(path)
    row = sess.get(PassportRow, link.path)
    if row is None:
        raise NotFound(f"no passport {link.path}")
    return link, row


def _link_of(path: str) -> DigitalLink:
    """Parse a passport's Digital Link path; NotFound names what is wrong with it."""
    segments = path.strip("/").split("/")  # parse_path, too, ignores slashes at either end
    if len(segments) % 2:  # identifier/value pairs, then the name of a sub-resource
        raise NotFound(
            f"passport {'/'.join(segments[:-1])} has no sub-resource {segments[-1]!r} for "
            "this request (GET …/bundle, POST …/versions)"
        )
    try:
        return parse_path(path)
    except InvalidInput:
        raise NotFound(f"no passport {path!r}") from None


def _latest_version(sess: Session, passport_id: str) -> tuple[HistoryEntryRow, int]:
    """Return the passport's newest version entry and its version number."""
    row = sess.exec(
        select(HistoryEntryRow)
        .where(
            HistoryEntryRow.passport_id == passport_id, col(HistoryEntryRow.version).is_not(None)
        )
        .order_by(col(HistoryEntryRow.sequence).desc())
    ).first()
    if row is None or row.version is None:
        raise NotFound(f"passport {passport_id} has no version")
    return row, row.version


def _credential_id(sess: Session, entry: HistoryEntryRow) -> str:
    """Return the `id` of the public credential a history row's ledger entry holds."""
    logged = sess.get(LedgerEntryRow, entry.ledger_index)
    if logged is None:
        raise NotFound(f"passport {entry.passport_id}: its ledger entry is missing")
    credential: str = orjson.loads(credential_of(logged.entry, entry.kind))["id"]
    return credential


def passport_paths(sess: Session, org_id: int, *, limit: int = 20) -> list[str]:
    """Return the ids (Digital Link paths) of the first passports `org_id` issued."""
    query = (
        select(PassportRow.id)
        .where(PassportRow.org_id == org_id)
        .order_by(col(PassportRow.created_at), col(PassportRow.id))
        .limit(limit)
    )
    return list(sess.exec(query).all())


# The current version (the newest history row that is a version) and its restricted tiers,
# in one statement through the driver: a read is this and nothing else.
_CURRENT = (
    "SELECT p.org_id, p.category, p.granularity, h.sequence, h.version, h.ledger_index,"
    " h.kind, e.entry, r.tier, r.packed FROM passport p"
    " JOIN history_entry h ON h.passport_id = p.id AND h.sequence = ("
    "SELECT MAX(sequence) FROM history_entry WHERE passport_id = p.id AND version IS NOT NULL)"
    " JOIN ledger_entry e ON e.idx = h.ledger_index"
    " LEFT JOIN restricted_credential r ON r.passport_id = h.passport_id"
    " AND r.sequence = h.sequence WHERE p.id = ?"
)


def get_passport(
    sess: Session, ctx: ServiceContext, caller: Caller | None, path: str
) -> StoredView:
    """Return the current version with exactly the tiers the caller may read, as stored."""
    link = _link_of(path)
    rows = driver_query(sess.connection(), _CURRENT, (link.path,))
    if not rows:
        raise NotFound(f"no passport {link.path}")
    org_id, category, granularity, sequence, version, index, kind, entry = rows[0][:8]
    tiers = tiers_for(caller, issuer_org_id=org_id)
    return StoredView(
        id=link.path,
        uri=link.uri(ctx.base_url),
        category=category,
        granularity=granularity,
        version=version,
        sequence=sequence,
        credential=credential_of(stored_bytes(entry), kind),
        restricted={
            Tier(tier): unpack(stored_bytes(packed))
            for *_, tier, packed in rows
            if tier is not None and Tier(tier) in tiers
        },
        ledger_index=index,
    )


def correct_passport(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    path: str,
    product: Mapping[str, Any],
    *,
    at: datetime,
    remember: Remember | None = None,
) -> PassportView:
    """Issue a new version that supersedes the current one; nothing is edited in place."""
    issuer = require_role(caller, Role.MANUFACTURER)
    link, passport = load_passport(sess, path)
    if passport.org_id != issuer.org_id:
        raise Forbidden("only the issuing manufacturer may correct a passport")
    if passport.status == "superseded":
        raise Conflict(
            f"{passport.id} is superseded by its remanufactured successor: correct that one",
            errors={"passport": ["superseded"]},
        )
    validated = ctx.rules.validate(passport.category, product)
    drawn = check_drawn(sess, ctx.base_url, validated)
    tiers = ctx.rules.split_tiers(passport.category, validated)
    current, current_version = _latest_version(sess, passport.id)
    last = sess.exec(
        select(HistoryEntryRow)
        .where(HistoryEntryRow.passport_id == passport.id)
        .order_by(col(HistoryEntryRow.sequence).desc())
    ).first()
    if last is None:  # a passport row is only ever stored with its first version
        raise NotFound(f"passport {passport.id} has no history")
    [index] = ctx.status.take(issuer.org_id, 1)
    claim = VersionClaim(
        subject_id=link.uri(ctx.base_url),
        category=passport.category,
        granularity=passport.granularity,
        sequence=last.sequence + 1,
        previous_entry=last.entry_hash,
        supersedes=_credential_id(sess, current),
        tiers=tiers,
        status=status_entry(ctx.base_url, issuer.slug, index),
    )
    signed = sign_version(
        claim,
        signer=signer_for(sess, ctx, issuer),
        base_url=ctx.base_url,
        at=at,
        random_bytes=secrets.token_bytes,
    )
    view = view_of(
        link,
        ctx.base_url,
        passport.category,
        version=current_version + 1,
        sequence=claim.sequence,
        signed=signed,
    )
    sess.commit()  # end the reading transaction; the writing one starts under the lock

    def write(batch: Session) -> PassportView:
        [logged] = record_versions(
            batch,
            [view],
            [signed],
            EntryKind.PASSPORT_CORRECTED,
            org_id=issuer.org_id,
            status_indices=[index],
            at=at,
        )
        # The new version's claims replace the current one's (released first).
        replaced = Claims(passport.id, claim.sequence, drawn, replaces=current.sequence)
        take_claims(batch, ctx.base_url, [replaced])
        if remember is not None:
            remember(batch, [logged])
        return logged

    return ctx.sequencer.run(
        write, entries=1, conflict="the passport changed concurrently; retry the new version"
    )
