"""Organisations' signing keys: rotation, import, revocation, and how DID documents list them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from passport.core.errors import Conflict, NotFound
from passport.core.log.kinds import EntryKind
from passport.core.signing.did import PublishedKey
from passport.services.context import ServiceContext
from passport.services.ledger.log import begin_write
from passport.services.orgs.organisations import Organisation, get_organisation, log_key
from passport.store.keystore import key_id_for, load_private_key_file, raw_public
from passport.store.tables import OrgKeyRow


def published_keys(sess: Session, org_id: int) -> list[PublishedKey]:
    """Return every key of an organisation, oldest first."""
    rows = sess.exec(
        select(OrgKeyRow).where(OrgKeyRow.org_id == org_id).order_by(col(OrgKeyRow.id))
    ).all()
    return [
        PublishedKey(
            r.key_id,
            r.public_key,
            r.retired_at is not None,
            None if r.revoked_at is None else _iso(r.revoked_at),
        )
        for r in rows
    ]


def _iso(at: datetime) -> str:
    """Return `at` as an XML Schema dateTime in UTC (SQLite hands back naive UTC times)."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return utc.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rotate_key(sess: Session, ctx: ServiceContext, slug: str, *, at: datetime) -> str:
    """Retire the current key of `slug` and make a new one current; return the new key id."""
    begin_write(sess)
    org = get_organisation(sess, slug)
    key_id, public = ctx.keys.generate(slug)
    return _replace_current(sess, ctx, org, key_id, public, at=at)


def import_key(
    sess: Session,
    ctx: ServiceContext,
    slug: str,
    data: bytes,
    password: bytes | None,
    *,
    at: datetime,
) -> str:
    """Make an imported PKCS#8 Ed25519 key current for `slug` (its public key is checked)."""
    private = load_private_key_file(data, password)
    begin_write(sess)
    org = get_organisation(sess, slug)
    if sess.exec(
        select(OrgKeyRow).where(OrgKeyRow.key_id == key_id_for(raw_public(private)))
    ).first():
        raise Conflict("this key is already registered")
    key_id, public = ctx.keys.add(slug, private)
    return _replace_current(sess, ctx, org, key_id, public, at=at)


def revoke_key(
    sess: Session,
    ctx: ServiceContext,
    slug: str,
    key_id: str,
    *,
    compromised_since: int | None,
    at: datetime,
) -> int:
    """Log the revocation of a key; with `compromised_since`, entries from there on are invalid."""
    begin_write(sess)
    org = get_organisation(sess, slug)
    row = sess.exec(
        select(OrgKeyRow).where(OrgKeyRow.org_id == org.id, OrgKeyRow.key_id == key_id)
    ).first()
    if row is None:
        raise NotFound(f"{slug} has no key {key_id}")
    if row.retired_at is None:
        row.retired_at = at
    if row.revoked_at is None:
        row.revoked_at = at
    sess.add(row)
    index = log_key(
        sess,
        ctx.base_url,
        slug,
        EntryKind.KEY_REVOKED,
        key_id,
        row.public_key,
        at=at,
        compromised_since=compromised_since,
    )
    sess.commit()
    return index


def _replace_current(
    sess: Session,
    ctx: ServiceContext,
    org: Organisation,
    key_id: str,
    public: bytes,
    *,
    at: datetime,
) -> str:
    for row in sess.exec(
        select(OrgKeyRow).where(OrgKeyRow.org_id == org.id, col(OrgKeyRow.retired_at).is_(None))
    ):
        row.retired_at = at
        sess.add(row)
        log_key(
            sess, ctx.base_url, org.slug, EntryKind.KEY_RETIRED, row.key_id, row.public_key, at=at
        )
    sess.add(OrgKeyRow(org_id=org.id, key_id=key_id, public_key=public, created_at=at))
    log_key(sess, ctx.base_url, org.slug, EntryKind.KEY_REGISTERED, key_id, public, at=at)
    sess.commit()
    return key_id
