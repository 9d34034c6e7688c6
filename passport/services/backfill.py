"""Log what was signed before the ledger existed: keys and passport versions, in time order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from passport.core.credentials import entry_bytes
from passport.core.errors import LedgerInconsistent
from passport.core.keylog import key_entry
from passport.core.kinds import EntryKind
from passport.services.ledger import NewEntry, append, begin_write, committed_size
from passport.services.orgs import signing_method
from passport.tables import HistoryEntryRow, OrganisationRow, OrgKeyRow


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def backfill(sess: Session, base_url: str) -> int:
    """Append every key and history entry that predates the ledger; return how many."""
    begin_write(sess)
    unlogged = sess.exec(
        select(func.count())
        .select_from(HistoryEntryRow)
        .where(col(HistoryEntryRow.ledger_index).is_(None))
    ).one()
    size = committed_size(sess)
    if size and unlogged:
        raise LedgerInconsistent(f"{unlogged} history entries are not in the non-empty ledger")
    keys = sess.exec(select(OrgKeyRow, OrganisationRow.slug).join(OrganisationRow)).all()
    if size or not keys:
        sess.rollback()
        return 0
    # (time, order, tiebreak, entry, history key): a key is registered before what it signed
    # in the same second, and retired after it.
    events: list[tuple[datetime, int, Any, NewEntry, tuple[str, int] | None]] = []
    for key, slug in keys:
        did, method = signing_method(base_url, slug, key.key_id)
        made = key_entry(
            EntryKind.KEY_REGISTERED, method=method, controller=did, public_key=key.public_key
        )
        events.append(
            (
                _aware(key.created_at),
                0,
                key.id,
                NewEntry(EntryKind.KEY_REGISTERED.value, made),
                None,
            )
        )
        if key.retired_at is not None:
            ended = key_entry(
                EntryKind.KEY_RETIRED, method=method, controller=did, public_key=key.public_key
            )
            events.append(
                (
                    _aware(key.retired_at),
                    2,
                    key.id,
                    NewEntry(EntryKind.KEY_RETIRED.value, ended),
                    None,
                )
            )
    for row in sess.exec(select(HistoryEntryRow)).all():
        entry = entry_bytes(EntryKind(row.kind), row.credential.encode())
        events.append(
            (
                _aware(row.created_at),
                1,
                (row.passport_id, row.sequence),
                NewEntry(row.kind, entry, row.passport_id),
                (row.passport_id, row.sequence),
            )
        )
    events.sort(key=lambda e: (e[0], e[1], str(e[2])))
    at = datetime.now(UTC).replace(microsecond=0)
    indices = append(sess, [e[3] for e in events], at=at)
    for event, index in zip(events, indices, strict=True):
        if event[4] is not None:
            passport_id, sequence = event[4]
            sess.execute(
                update(HistoryEntryRow)
                .where(
                    col(HistoryEntryRow.passport_id) == passport_id,
                    col(HistoryEntryRow.sequence) == sequence,
                )
                .values(ledger_index=index)
            )
    sess.commit()
    return len(indices)
