"""Find passports: by issuer, by who recorded events on them, category, GTIN, status, and
issued or changed since; in issue order (their first versions' order in the log), a page at a
time (an opaque cursor)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from passport.core.errors import InvalidInput, NotFound
from passport.core.product.gs1 import normalise_gtin
from passport.services.context import ServiceContext
from passport.store.tables import HistoryEntryRow, OrganisationRow, PassportRow


@dataclass(frozen=True, slots=True)
class Listed:
    """A passport as a listing shows it: identity, status, issuer and when it last changed."""

    id: str
    uri: str
    category: str
    granularity: str
    status: str
    issuer: str  # the issuing organisation's slug
    issued_at: datetime
    changed_at: datetime
    predecessor: str | None


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of a listing; None means any."""

    issuer: str | None = None
    recorded_by: str | None = None
    category: str | None = None
    gtin: str | None = None
    status: str | None = None
    since: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def _org_id(sess: Session, slug: str, field: str) -> int:
    found = sess.exec(select(OrganisationRow).where(OrganisationRow.slug == slug)).first()
    if found is None or found.id is None:
        raise NotFound(f"no organisation {slug!r}", errors={field: ["unknown organisation"]})
    return found.id


def _decode(cursor: str) -> int:
    """The ledger index of the last issuance a page showed."""
    try:
        (after,) = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if type(after) is not int or not 0 <= after < 2**62:
            raise TypeError(after)
        return after
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("bad cursor", errors={"cursor": ["use the `next` of a page"]}) from None


def _encode(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([after]).encode()).decode()


def _aware(when: datetime) -> datetime:
    """SQLite gives back UTC wall-clock times without their offset: state it."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def list_passports(
    sess: Session, ctx: ServiceContext, query: Query
) -> tuple[list[Listed], str | None]:
    """Return one page of passports matching `query` and the cursor of the next, if any."""
    changed = (
        select(func.max(col(HistoryEntryRow.created_at)))
        .where(col(HistoryEntryRow.passport_id) == col(PassportRow.id))
        .scalar_subquery()
    )
    # Issue order is the order of the first versions in the log (their ledger indices).
    first = aliased(HistoryEntryRow)
    statement = (
        select(PassportRow, OrganisationRow.slug, changed, first.ledger_index)
        .join(first, and_(col(first.passport_id) == col(PassportRow.id), col(first.sequence) == 1))
        .join(OrganisationRow, col(OrganisationRow.id) == col(PassportRow.org_id))
        .order_by(col(first.ledger_index))
        .limit(query.limit + 1)
    )
    if query.issuer is not None:
        statement = statement.where(PassportRow.org_id == _org_id(sess, query.issuer, "issuer"))
    if query.recorded_by is not None:
        actor = _org_id(sess, query.recorded_by, "recorded_by")
        statement = statement.where(
            exists().where(
                and_(
                    col(HistoryEntryRow.passport_id) == col(PassportRow.id),
                    col(HistoryEntryRow.org_id) == actor,
                )
            )
        )
    if query.category is not None:
        statement = statement.where(PassportRow.category == query.category)
    if query.gtin is not None:
        statement = statement.where(PassportRow.gtin == normalise_gtin(query.gtin))
    if query.status is not None:
        statement = statement.where(PassportRow.status == query.status)
    if query.since is not None:
        # SQLite keeps UTC wall-clock text: compare in UTC on both databases.
        statement = statement.where(changed >= query.since.astimezone(UTC))
    if query.cursor is not None:
        statement = statement.where(col(first.ledger_index) > _decode(query.cursor))
    rows = sess.exec(statement).all()
    page = [
        Listed(
            id=row.id,
            uri=f"{ctx.base_url}/{row.id}",
            category=row.category,
            granularity=row.granularity,
            status=row.status,
            issuer=slug,
            issued_at=_aware(row.created_at),
            changed_at=_aware(last),
            predecessor=row.predecessor_id,
        )
        for row, slug, last, _index in rows[: query.limit]
    ]
    following = _encode(rows[query.limit - 1][3]) if len(rows) > query.limit else None
    return page, following
