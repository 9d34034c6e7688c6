"""Issue passports (one or thousands), correct them with new versions, and read them by tier."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from passport.core.access import Role, Tier, readable_tiers
from passport.core.credentials import (
    SignedVersion,
    Signer,
    VersionClaim,
    entry_bytes,
    leaf_hash,
    sign_version,
)
from passport.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from passport.core.gs1 import DigitalLink, Granularity, make_link, parse_path
from passport.core.kinds import EntryKind
from passport.services.context import ServiceContext
from passport.services.orgs import current_key_id, signing_method
from passport.services.tokens import Caller
from passport.tables import HistoryEntryRow, PassportRow, RestrictedCredentialRow

Progress = Callable[[int], None]


class BulkRejected(InvalidInput):
    """A bulk request had bad rows; nothing was stored. `rows` maps row number to errors."""

    code = "bulk-rejected"
    title = "Bulk request rejected"

    def __init__(self, rows: Mapping[int, Mapping[str, Sequence[str]]]) -> None:
        super().__init__(f"{len(rows)} row(s) are invalid; nothing was stored")
        self.rows = {n: {k: list(v) for k, v in e.items()} for n, e in sorted(rows.items())}


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


@dataclass(frozen=True, slots=True)
class _Prepared:
    link: DigitalLink
    category: str
    tiers: dict[Tier, dict[str, Any]]


def _require(caller: Caller | None, role: Role) -> Caller:
    if caller is None:
        raise Forbidden(f"only a {role.value} may do this")
    if role not in caller.roles:
        raise Forbidden(f"only a {role.value} may do this; {caller.slug} is not one")
    return caller


def _prepare(ctx: ServiceContext, request: Mapping[str, Any]) -> _Prepared:
    category = request["category"]
    product = ctx.rules.validate(category, request["product"])
    link = make_link(
        gtin=request["gtin"],
        granularity=Granularity(request["granularity"]),
        variant=request.get("variant"),
        lot=request.get("lot"),
        serial=request.get("serial"),
    )
    return _Prepared(link=link, category=category, tiers=ctx.rules.split_tiers(category, product))


def _signer(sess: Session, ctx: ServiceContext, caller: Caller) -> Signer:
    key_id = current_key_id(sess, caller.org_id)
    did, method = signing_method(ctx.base_url, caller.slug, key_id)
    return Signer(
        did=did, verification_method=method, private_key=ctx.keys.load(caller.slug, key_id)
    )


def _taken(sess: Session, links: Sequence[DigitalLink]) -> set[str]:
    """Return the paths among `links` whose id or GTIN+serial is already used."""
    taken: set[str] = set()
    for start in range(0, len(links), 500):
        chunk = links[start : start + 500]
        by_path = {link.path: link for link in chunk}
        taken |= set(
            sess.exec(select(PassportRow.id).where(col(PassportRow.id).in_(by_path))).all()
        )
        pairs = [(link.gtin, link.serial) for link in chunk if link.serial is not None]
        if pairs:
            used = set(
                sess.exec(
                    select(PassportRow.gtin, PassportRow.serial).where(
                        tuple_(col(PassportRow.gtin), col(PassportRow.serial)).in_(pairs)
                    )
                ).all()
            )
            taken |= {link.path for link in chunk if (link.gtin, link.serial) in used}
    return taken


def issue_passports(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    requests: Sequence[Mapping[str, Any] | None],
    *,
    at: datetime,
    row_errors: Mapping[int, Mapping[str, list[str]]] | None = None,
    progress: Progress | None = None,
) -> list[PassportView]:
    """Issue every request or none; a bad or duplicate row raises BulkRejected naming it.

    A request that is None was already refused by the caller, whose `row_errors` name why.
    """
    issuer = _require(caller, Role.MANUFACTURER)
    if len(requests) > ctx.bulk_max_rows:
        raise InvalidInput(
            "too many rows", errors={"rows": [f"at most {ctx.bulk_max_rows} per request"]}
        )
    prepared: list[_Prepared] = []
    errors = {n: dict(e) for n, e in (row_errors or {}).items()}
    seen: dict[tuple[str, str | None], int] = {}
    numbers: list[int] = []
    for number, request in enumerate(requests, start=1):
        if request is None:
            continue
        try:
            item = _prepare(ctx, request)
        except InvalidInput as exc:
            errors[number] = exc.errors or {"row": [exc.detail]}
            continue
        key = (item.link.gtin, item.link.serial) if item.link.serial else (item.link.path, None)
        if key in seen:
            errors[number] = {"id": [f"same identifier as row {seen[key]}"]}
        seen.setdefault(key, number)
        prepared.append(item)
        numbers.append(number)
    taken = _taken(sess, [p.link for p in prepared])
    for number, item in zip(numbers, prepared, strict=True):
        if item.link.path in taken:
            errors.setdefault(number, {})["id"] = [f"{item.link.path} is already used"]
    if errors:
        raise BulkRejected(errors)
    signer = _signer(sess, ctx, issuer)
    views, signed_versions = [], []
    for done, item in enumerate(prepared, start=1):
        claim = VersionClaim(
            subject_id=item.link.uri(ctx.base_url),
            category=item.category,
            granularity=item.link.granularity.value,
            sequence=1,
            previous_entry=None,
            supersedes=None,
            tiers=item.tiers,
        )
        signed = sign_version(
            claim, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
        )
        views.append(
            _view(item.link, ctx.base_url, item.category, version=1, sequence=1, signed=signed)
        )
        signed_versions.append(signed)
        if progress is not None and done % 100 == 0:
            progress(100)
    _store(sess, issuer, prepared, views, signed_versions, EntryKind.PASSPORT_ISSUED, at=at)
    if progress is not None:
        progress(len(prepared) % 100)
    return views


def _view(
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


def _history_rows(
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


def _store(
    sess: Session,
    issuer: Caller,
    prepared: Sequence[_Prepared],
    views: Sequence[PassportView],
    signed: Sequence[SignedVersion],
    kind: EntryKind,
    *,
    at: datetime,
) -> None:
    passports = [
        {
            "id": p.link.path,
            "gtin": p.link.gtin,
            "variant": p.link.variant,
            "lot": p.link.lot,
            "serial": p.link.serial,
            "granularity": p.link.granularity.value,
            "category": p.category,
            "org_id": issuer.org_id,
            "created_at": at,
        }
        for p in prepared
    ]
    entries, restricted = _history_rows(views, signed, kind, at)
    try:
        if passports:
            sess.execute(insert(PassportRow), passports)
        _insert_history(sess, entries, restricted)
        sess.commit()
    except IntegrityError:
        sess.rollback()
        raise Conflict("an identifier was taken concurrently; nothing was stored") from None


def _insert_history(
    sess: Session, entries: Sequence[dict[str, Any]], restricted: Sequence[dict[str, Any]]
) -> None:
    if entries:
        sess.execute(insert(HistoryEntryRow), entries)
    if restricted:
        sess.execute(insert(RestrictedCredentialRow), restricted)


def _load_passport(sess: Session, path: str) -> tuple[DigitalLink, PassportRow]:
    try:
        link = parse_path(path)
    except InvalidInput:
        raise NotFound(f"no passport {path!r}") from None
    row = sess.get(PassportRow, link.path)
    if row is None:
        raise NotFound(f"no passport {link.path}")
    return link, row


def _latest_version(sess: Session, passport_id: str) -> HistoryEntryRow:
    row = sess.exec(
        select(HistoryEntryRow)
        .where(
            HistoryEntryRow.passport_id == passport_id, col(HistoryEntryRow.version).is_not(None)
        )
        .order_by(col(HistoryEntryRow.sequence).desc())
    ).first()
    if row is None:
        raise NotFound(f"passport {passport_id} has no version")
    return row


def get_passport(
    sess: Session, ctx: ServiceContext, caller: Caller | None, path: str
) -> PassportView:
    """Return the current version with exactly the tiers the caller may read."""
    link, passport = _load_passport(sess, path)
    entry = _latest_version(sess, passport.id)
    tiers = readable_tiers(caller.roles if caller else ())
    if caller is not None and caller.org_id == passport.org_id:
        tiers = frozenset(Tier)  # the issuer reads everything it signed
    rows = sess.exec(
        select(RestrictedCredentialRow).where(
            RestrictedCredentialRow.passport_id == passport.id,
            RestrictedCredentialRow.sequence == entry.sequence,
            col(RestrictedCredentialRow.tier).in_([t.value for t in tiers]),
        )
    ).all()
    assert entry.version is not None
    return PassportView(
        id=passport.id,
        uri=link.uri(ctx.base_url),
        category=passport.category,
        granularity=passport.granularity,
        version=entry.version,
        sequence=entry.sequence,
        credential=orjson.loads(entry.credential),
        restricted={Tier(r.tier): orjson.loads(r.credential) for r in rows},
    )


def correct_passport(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    path: str,
    product: Mapping[str, Any],
    *,
    at: datetime,
) -> PassportView:
    """Issue a new version that supersedes the current one; nothing is edited in place."""
    issuer = _require(caller, Role.MANUFACTURER)
    link, passport = _load_passport(sess, path)
    if passport.org_id != issuer.org_id:
        raise Forbidden("only the issuing manufacturer may correct a passport")
    tiers = ctx.rules.split_tiers(passport.category, ctx.rules.validate(passport.category, product))
    current = _latest_version(sess, passport.id)
    last = sess.exec(
        select(HistoryEntryRow)
        .where(HistoryEntryRow.passport_id == passport.id)
        .order_by(col(HistoryEntryRow.sequence).desc())
    ).first()
    assert last is not None
    assert current.version is not None
    claim = VersionClaim(
        subject_id=link.uri(ctx.base_url),
        category=passport.category,
        granularity=passport.granularity,
        sequence=last.sequence + 1,
        previous_entry=last.entry_hash,
        supersedes=orjson.loads(current.credential)["id"],
        tiers=tiers,
    )
    signed = sign_version(
        claim,
        signer=_signer(sess, ctx, issuer),
        base_url=ctx.base_url,
        at=at,
        random_bytes=secrets.token_bytes,
    )
    view = _view(
        link,
        ctx.base_url,
        passport.category,
        version=current.version + 1,
        sequence=claim.sequence,
        signed=signed,
    )
    entries, restricted = _history_rows([view], [signed], EntryKind.PASSPORT_CORRECTED, at)
    try:
        _insert_history(sess, entries, restricted)
        sess.commit()
    except IntegrityError:
        sess.rollback()
        raise Conflict("the passport changed concurrently; retry against the new version") from None
    return view


def issue_passport(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    request: Mapping[str, Any],
    *,
    at: datetime,
) -> PassportView:
    """Issue one passport; a used identifier is a Conflict, bad fields an InvalidInput."""
    try:
        return issue_passports(sess, ctx, caller, [request], at=at)[0]
    except BulkRejected as exc:
        errors = exc.rows[1]
        if set(errors) == {"id"}:
            raise Conflict("identifier already used", errors=errors) from None
        raise InvalidInput("the passport is invalid", errors=errors) from None
