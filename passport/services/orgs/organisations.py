"""Organisations, their roles and prefixes, and the key they sign with."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from passport.core.errors import Conflict, InvalidInput, NotFound
from passport.core.log.keylog import key_entry
from passport.core.log.kinds import EntryKind
from passport.core.product.access import Caller, Role
from passport.core.product.credentials import Signer
from passport.core.product.gs1 import gtin_check_digit
from passport.core.signing.did import signing_method
from passport.services.context import ServiceContext
from passport.services.ledger.log import NewEntry, append, begin_write
from passport.services.orgs.prefixes import add_prefixes, check_prefixes, prefixes_of
from passport.store.sql import driver_query
from passport.store.tables import OrganisationRow, OrgKeyRow, OrgRoleRow, row_id

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as services see it."""

    id: int
    slug: str
    name: str
    roles: frozenset[Role]
    country: str
    province: str | None
    municipality: str | None
    gln: str | None
    prefixes: tuple[str, ...] = ()  # stored GS1 prefixes (`passport.services.orgs.prefixes`)


def _check_new(
    slug: str, name: str, roles: Iterable[str], country: str, gln: str | None
) -> set[Role]:
    errors: dict[str, list[str]] = {}
    if not _SLUG.match(slug):
        errors["slug"] = ["lower-case letters, digits and inner hyphens, at most 63"]
    if not name.strip():
        errors["name"] = ["must not be empty"]
    if not _COUNTRY.match(country):
        errors["country"] = ["ISO 3166-1 alpha-2 code, e.g. NL"]
    if gln is not None and not (
        len(gln) == 13 and gln.isdigit() and gtin_check_digit(gln[:-1]) == int(gln[-1])
    ):
        errors["gln"] = ["13 digits with a valid GS1 check digit"]
    chosen: set[Role] = set()
    for role in roles:
        try:
            chosen.add(Role(role))
        except ValueError:
            errors.setdefault("role", []).append(
                f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}"
            )
    if not chosen and "role" not in errors:
        errors["role"] = ["at least one role"]
    if errors:
        raise InvalidInput("organisation is invalid", errors=errors)
    return chosen


def create_organisation(
    sess: Session,
    ctx: ServiceContext,
    *,
    slug: str,
    name: str,
    roles: Iterable[str],
    country: str = "NL",
    province: str | None = None,
    municipality: str | None = None,
    gln: str | None = None,
    gcps: Iterable[str] = (),
    gtin8s: Iterable[str] = (),
    at: datetime,
) -> Organisation:
    """Register an organisation with its roles, GS1 prefixes and a fresh Ed25519 key.

    A manufacturer issues passports only under its prefixes; it may be created without any
    and get them later (`add_organisation_prefixes`).
    """
    chosen = _check_new(slug, name, roles, country, gln)
    prefixes = check_prefixes(gcps, gtin8s)
    begin_write(sess)
    if sess.exec(select(OrganisationRow).where(OrganisationRow.slug == slug)).first():
        raise Conflict(f"organisation {slug!r} exists", errors={"slug": ["already taken"]})
    row = OrganisationRow(
        slug=slug,
        name=name.strip(),
        country=country,
        province=province,
        municipality=municipality,
        gln=gln,
        created_at=at,
    )
    sess.add(row)
    try:
        sess.flush()
    except IntegrityError:
        sess.rollback()
        raise Conflict(
            f"organisation {slug!r} exists", errors={"slug": ["already taken"]}
        ) from None
    sess.add_all(OrgRoleRow(org_id=row_id(row), role=r.value) for r in sorted(chosen))
    add_prefixes(sess, row_id(row), prefixes)
    key_id, public = ctx.keys.generate(slug)
    sess.add(OrgKeyRow(org_id=row_id(row), key_id=key_id, public_key=public, created_at=at))
    log_key(sess, ctx.base_url, slug, EntryKind.KEY_REGISTERED, key_id, public, at=at)
    sess.commit()
    return _to_org(row, chosen, prefixes)


def add_organisation_prefixes(
    sess: Session, slug: str, *, gcps: Iterable[str] = (), gtin8s: Iterable[str] = ()
) -> Organisation:
    """Register more GS1 prefixes (or whole GTIN-8s) for `slug`; return the organisation."""
    prefixes = check_prefixes(gcps, gtin8s)
    if not prefixes:
        raise InvalidInput("no prefix given", errors={"gcp": ["give at least one"]})
    begin_write(sess)
    org = get_organisation(sess, slug)
    add_prefixes(sess, org.id, prefixes)
    sess.commit()
    return get_organisation(sess, slug)


def log_key(
    sess: Session,
    base_url: str,
    slug: str,
    kind: EntryKind,
    key_id: str,
    public: bytes,
    *,
    at: datetime,
    compromised_since: int | None = None,
) -> int:
    did, method = signing_method(base_url, slug, key_id)
    entry = key_entry(
        kind, method=method, controller=did, public_key=public, compromised_since=compromised_since
    )
    [index] = append(sess, [NewEntry(kind.value, entry)], at=at)
    return index


def _to_org(
    row: OrganisationRow, roles: Iterable[Role], prefixes: Iterable[str] = ()
) -> Organisation:
    return Organisation(
        id=row_id(row),
        slug=row.slug,
        name=row.name,
        roles=frozenset(roles),
        country=row.country,
        province=row.province,
        municipality=row.municipality,
        gln=row.gln,
        prefixes=tuple(prefixes),
    )


def get_organisation(sess: Session, slug: str) -> Organisation:
    """Return the organisation `slug` or raise NotFound."""
    row = sess.exec(select(OrganisationRow).where(OrganisationRow.slug == slug)).first()
    if row is None:
        raise NotFound(f"no organisation {slug!r}")
    roles = sess.exec(select(OrgRoleRow.role).where(OrgRoleRow.org_id == row_id(row))).all()
    return _to_org(row, (Role(r) for r in roles), prefixes_of(sess, row_id(row)))


def list_organisations(sess: Session) -> list[Organisation]:
    """Return every organisation, by slug."""
    rows = sess.exec(select(OrganisationRow).order_by(col(OrganisationRow.slug))).all()
    return [get_organisation(sess, r.slug) for r in rows]


_CURRENT_KEY = (
    "SELECT key_id FROM org_key WHERE org_id = ? AND retired_at IS NULL ORDER BY id DESC LIMIT 1"
)


def current_key_id(sess: Session, org_id: int) -> str:
    """Return the id of the organisation's current (unretired) key."""
    rows = driver_query(sess.connection(), _CURRENT_KEY, (org_id,))  # on every issuance
    if not rows:
        raise NotFound("organisation has no current key")
    return str(rows[0][0])


def signer_for(sess: Session, ctx: ServiceContext, caller: Caller) -> Signer:
    """Return what signs for `caller`: its current key, under its DID."""
    key_id = current_key_id(sess, caller.org_id)
    did, method = signing_method(ctx.base_url, caller.slug, key_id)
    return Signer(
        did=did, verification_method=method, private_key=ctx.keys.load(caller.slug, key_id)
    )
