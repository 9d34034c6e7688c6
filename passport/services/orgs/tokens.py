"""Bearer API tokens: shown once, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from passport.core.errors import NotFound, Unauthenticated
from passport.core.product.access import Caller
from passport.services.orgs.organisations import Organisation, get_organisation
from passport.store.tables import ApiTokenRow, OrganisationRow

TOKEN_PREFIX = "dpp_"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listings show it: never the secret itself."""

    id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough; no slow KDF is needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(sess: Session, slug: str, *, label: str = "", at: datetime) -> str:
    """Create a token for organisation `slug` and return it; only its hash is kept."""
    org = get_organisation(sess, slug)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    sess.add(ApiTokenRow(org_id=org.id, token_hash=_digest(token), label=label, created_at=at))
    sess.commit()
    return token


def list_tokens(sess: Session, slug: str) -> list[TokenInfo]:
    """Return the tokens of `slug`, oldest first."""
    org = get_organisation(sess, slug)
    rows = sess.exec(
        select(ApiTokenRow).where(ApiTokenRow.org_id == org.id).order_by(col(ApiTokenRow.id))
    ).all()
    return [TokenInfo(r.id or 0, r.label, r.created_at, r.revoked_at) for r in rows]


def revoke_token(sess: Session, slug: str, token_id: int, *, at: datetime) -> None:
    """Revoke token `token_id` of `slug`; revoking twice is harmless."""
    org = get_organisation(sess, slug)
    row = sess.get(ApiTokenRow, token_id)
    if row is None or row.org_id != org.id:
        raise NotFound(f"{slug} has no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = at
        sess.add(row)
        sess.commit()


def authenticate(sess: Session, token: str) -> Caller:
    """Return the caller a bearer token belongs to, or raise Unauthenticated."""
    row = sess.exec(
        select(ApiTokenRow, OrganisationRow)
        .join(OrganisationRow, col(OrganisationRow.id) == col(ApiTokenRow.org_id))
        .where(ApiTokenRow.token_hash == _digest(token), col(ApiTokenRow.revoked_at).is_(None))
    ).first()
    if row is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    org: Organisation = get_organisation(sess, row[1].slug)
    return Caller(org_id=org.id, slug=org.slug, roles=org.roles)
