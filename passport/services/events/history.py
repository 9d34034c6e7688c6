"""A passport's history as the event rules need it: where it ends and the state it is in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from passport.core.errors import Forbidden, NotFound
from passport.core.lifecycle.states import Lifecycle, Status, replay
from passport.core.lifecycle.vocabulary import RECORDERS, EventKind, event_kind
from passport.core.product.access import Caller
from passport.store.sql import driver_query


@dataclass(frozen=True, slots=True)
class History:
    """What a passport's history says now: its last entry and its lifecycle state."""

    sequence: int
    last_entry: str
    state: Lifecycle
    version_sequence: int  # the sequence number of its current version


_HISTORY = (
    "SELECT sequence, kind, entry_hash FROM history_entry WHERE passport_id = ? ORDER BY sequence"
)


def read_history(sess: Session, passport_id: str) -> History:
    """Return the passport's last sequence number and entry hash, and the state its events
    lead to."""
    rows = driver_query(sess.connection(), _HISTORY, (passport_id,))
    if not rows:  # a passport row is only ever stored with its first version
        raise NotFound(f"passport {passport_id} has no history")
    kinds = [kind for _, raw, _ in rows if (kind := event_kind(raw)) is not None]
    version = max(sequence for sequence, raw, _ in rows if event_kind(raw) is None)
    sequence, _, last_entry = rows[-1]
    return History(sequence, last_entry, replay(kinds, passport=passport_id), version)


def set_statuses(sess: Session, changes: Sequence[tuple[Status, str]]) -> None:
    """Store the new status of each passport `(status, passport id)` an event changed, in the
    caller's (write) transaction."""
    if changes:
        driver_query(
            sess.connection(),
            "UPDATE passport SET status = ? WHERE id = ?",
            [(status.value, passport_id) for status, passport_id in changes],
            many=True,
        )


def check_recorder(caller: Caller, kind: EventKind) -> None:
    """Raise Forbidden unless the caller holds a role that records events of `kind`."""
    if not caller.roles & RECORDERS[kind]:
        roles = " or ".join(sorted(role.value for role in RECORDERS[kind]))
        raise Forbidden(f"only a {roles} may record a {kind.value} event; {caller.slug} is not one")
