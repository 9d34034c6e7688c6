"""Issue passports, one or thousands, all or nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from passport.core.errors import Conflict, InvalidInput
from passport.core.lifecycle.lots import Drawn
from passport.core.lifecycle.status import status_entry
from passport.core.log.kinds import EntryKind
from passport.core.product.access import Caller, Role, Tier, require_role
from passport.core.product.credentials import SignedVersion, Signer, VersionClaim, sign_version
from passport.core.product.gs1 import (
    SERIAL_ENTROPY_BYTES,
    DigitalLink,
    Granularity,
    make_link,
    normalise_gtin,
)
from passport.services.context import ServiceContext
from passport.services.orgs.organisations import signer_for
from passport.services.orgs.prefixes import GtinNotOwned, check_ownership, prefixes_of
from passport.services.passports.claims import Claims, check_drawn, take_claims
from passport.services.passports.history import record_versions
from passport.services.passports.idempotency import Remember
from passport.services.passports.identities import insert_passports, passport_row, taken
from passport.services.passports.views import PassportView, view_of

Progress = Callable[[int], None]


class BulkRejected(InvalidInput):
    """A bulk request had bad rows; nothing was stored. `rows` maps row number to errors."""

    code = "bulk-rejected"
    title = "Bulk request rejected"

    def __init__(self, rows: Mapping[int, Mapping[str, Sequence[str]]]) -> None:
        super().__init__(f"{len(rows)} row(s) are invalid; nothing was stored")
        self.rows = {n: {k: list(v) for k, v in e.items()} for n, e in sorted(rows.items())}


@dataclass(frozen=True, slots=True)
class _Prepared:
    link: DigitalLink
    category: str
    tiers: dict[Tier, dict[str, Any]]
    drawn: tuple[Drawn, ...]  # the recycled content it claims from lots


def _prepare(sess: Session, ctx: ServiceContext, request: Mapping[str, Any]) -> _Prepared:
    category = request["category"]
    product = ctx.rules.validate(category, request["product"])
    drawn = check_drawn(sess, ctx.base_url, product)
    link = make_link(
        gtin=request["gtin"],
        granularity=Granularity(request["granularity"]),
        variant=request.get("variant"),
        lot=request.get("lot"),
        serial=request.get("serial"),
        entropy=secrets.token_bytes(SERIAL_ENTROPY_BYTES),
    )
    tiers = ctx.rules.split_tiers(category, product)
    return _Prepared(link=link, category=category, tiers=tiers, drawn=drawn)


def issue_passports(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    requests: Sequence[Mapping[str, Any] | None],
    *,
    at: datetime,
    row_errors: Mapping[int, Mapping[str, list[str]]] | None = None,
    progress: Progress | None = None,
    remember: Remember | None = None,
) -> list[PassportView]:
    """Issue every request or none; a bad or duplicate row raises BulkRejected naming it.

    A request that is None was already refused by the caller, whose `row_errors` name why.
    `remember` runs inside the write transaction (idempotency records).
    """
    issuer = require_role(caller, Role.MANUFACTURER)
    if not requests:
        raise InvalidInput("nothing to issue", errors={"rows": ["send at least one passport"]})
    if len(requests) > ctx.bulk_max_rows:
        raise InvalidInput(
            "too many rows", errors={"rows": [f"at most {ctx.bulk_max_rows} per request"]}
        )
    _check_ownership(sess, issuer, requests)
    prepared = _prepare_all(sess, ctx, requests, row_errors or {})
    signer = signer_for(sess, ctx, issuer)
    indices = ctx.status.take(issuer.org_id, len(prepared))
    signed_versions = _sign_all(
        ctx, prepared, signer, indices, issuer.slug, at=at, progress=progress
    )
    views = [
        view_of(item.link, ctx.base_url, item.category, version=1, sequence=1, signed=signed)
        for item, signed in zip(prepared, signed_versions, strict=True)
    ]
    sess.commit()  # end the reading transaction; the writing one starts under the lock
    return _store(ctx, issuer, prepared, views, signed_versions, indices, at=at, remember=remember)


# Progress is reported per this many rows signed.
_PROGRESS_EVERY = 100


def _sign_all(
    ctx: ServiceContext,
    prepared: Sequence[_Prepared],
    signer: Signer,
    indices: Sequence[int],
    slug: str,
    *,
    at: datetime,
    progress: Progress | None,
) -> list[SignedVersion]:
    """Sign every prepared row, in row order, in this thread.

    Ed25519 signing releases the GIL, but a thread pool here was measured slower, not faster
    (docs/benchmarks.md): the JSON work around each signature holds the GIL four times as long
    as the signature, and a thread coming back from signing waits for it.
    """
    signed: list[SignedVersion] = []
    for start in range(0, len(prepared), _PROGRESS_EVERY):
        chunk = zip(prepared[start : start + _PROGRESS_EVERY], indices[start:], strict=False)
        signed += [_sign(ctx, item, signer, slug, index, at) for item, index in chunk]
        if progress is not None:
            progress(min(_PROGRESS_EVERY, len(prepared) - start))
    return signed


def _sign(
    ctx: ServiceContext, item: _Prepared, signer: Signer, slug: str, index: int, at: datetime
) -> SignedVersion:
    claim = VersionClaim(
        subject_id=item.link.uri(ctx.base_url),
        category=item.category,
        granularity=item.link.granularity.value,
        sequence=1,
        previous_entry=None,
        supersedes=None,
        tiers=item.tiers,
        status=status_entry(ctx.base_url, slug, index),
    )
    return sign_version(
        claim, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
    )


def _check_ownership(
    sess: Session, issuer: Caller, requests: Sequence[Mapping[str, Any] | None]
) -> None:
    """Refuse (403, before any row is validated) every row whose GTIN is not the issuer's.

    Ownership is an authorisation, so it is judged first and answered with one Forbidden
    problem (`gtin-not-owned`) naming each such row in `errors` (`rows.{n}.gtin`), not as one
    more 422 row error: a client must not "fix" a foreign GTIN by editing the row. A GTIN
    that is itself invalid is left to the row's validation (422).
    """
    gtins: dict[int, str] = {}
    for number, request in enumerate(requests, start=1):
        gtin = None if request is None else request.get("gtin")
        if not isinstance(gtin, str):
            continue
        try:
            gtins[number] = normalise_gtin(gtin)
        except InvalidInput:
            continue
    check_ownership(issuer.slug, prefixes_of(sess, issuer.org_id), gtins)


def _prepare_all(
    sess: Session,
    ctx: ServiceContext,
    requests: Sequence[Mapping[str, Any] | None],
    row_errors: Mapping[int, Mapping[str, list[str]]],
) -> list[_Prepared]:
    """Validate every row and its identifier; raise BulkRejected naming every bad row."""
    prepared: list[_Prepared] = []
    errors = {n: dict(e) for n, e in row_errors.items()}
    seen: dict[tuple[str, str | None], int] = {}
    numbers: list[int] = []
    for number, request in enumerate(requests, start=1):
        if request is None:
            continue
        try:
            item = _prepare(sess, ctx, request)
        except InvalidInput as exc:
            errors[number] = exc.errors or {"row": [exc.detail]}
            continue
        key = (item.link.gtin, item.link.serial) if item.link.serial else (item.link.path, None)
        if key in seen:
            errors[number] = {"id": [f"same identifier as row {seen[key]}"]}
        seen.setdefault(key, number)
        prepared.append(item)
        numbers.append(number)
    used = taken(sess, [p.link for p in prepared])
    for number, item in zip(numbers, prepared, strict=True):
        if item.link.path in used:
            errors.setdefault(number, {})["id"] = [f"{item.link.path} is already used"]
    if errors:
        raise BulkRejected(errors)
    return prepared


def _store(
    ctx: ServiceContext,
    issuer: Caller,
    prepared: Sequence[_Prepared],
    views: Sequence[PassportView],
    signed: Sequence[SignedVersion],
    indices: Sequence[int],
    *,
    at: datetime,
    remember: Remember | None,
) -> list[PassportView]:
    passports = [passport_row(p.link, p.category, issuer.org_id, at=at) for p in prepared]
    claims = [Claims(p.link.path, 1, p.drawn) for p in prepared if p.drawn]

    def write(batch: Session) -> list[PassportView]:
        insert_passports(batch, passports)
        logged = record_versions(
            batch,
            views,
            signed,
            EntryKind.PASSPORT_ISSUED,
            org_id=issuer.org_id,
            status_indices=indices,
            at=at,
        )
        take_claims(batch, ctx.base_url, claims)
        if remember is not None:
            remember(batch, logged)
        return logged

    return ctx.sequencer.run(
        write,
        entries=len(views),
        conflict="an identifier was taken concurrently; nothing was stored",
    )


def issue_passport(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller | None,
    request: Mapping[str, Any],
    *,
    at: datetime,
    remember: Remember | None = None,
) -> PassportView:
    """Issue one passport; a used identifier is a Conflict, bad fields an InvalidInput."""
    try:
        return issue_passports(sess, ctx, caller, [request], at=at, remember=remember)[0]
    except GtinNotOwned as exc:
        raise GtinNotOwned(exc.slug, exc.prefixes, exc.rows, single=True) from None
    except BulkRejected as exc:
        errors = exc.rows[1]
        if set(errors) == {"id"}:
            raise Conflict("identifier already used", errors=errors) from None
        raise InvalidInput("the passport is invalid", errors=errors) from None
