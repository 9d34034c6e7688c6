"""Record a lifecycle event: signed by the actor, appended to the passport's history.

The event is checked in this order, so each refusal names the first thing wrong: its kind
(422), the actor's role (403), the passport (404), its fields (422), then whether the event can
happen to the passport in its present state (409, `passport.core.lifecycle.states`). The state
is read before signing and the event is appended at the next sequence number; should another
event or version take that number first, the append fails with a 409 and nothing is stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from passport.core.errors import Forbidden, InvalidInput, NotFound
from passport.core.lifecycle.credentials import EventClaim, sign_event
from passport.core.lifecycle.rules import parse_event
from passport.core.lifecycle.states import Lifecycle, after, replay
from passport.core.lifecycle.vocabulary import RECORDERS, EventKind, entry_kind, event_kind
from passport.core.product.access import Caller, Tier
from passport.services.context import ServiceContext
from passport.services.events.remanufacture import prepare_successor, store_successor
from passport.services.orgs.organisations import signer_for
from passport.services.passports.history import HistoryPlace, record_history
from passport.services.passports.idempotency import Remember
from passport.services.passports.read import load_passport
from passport.services.passports.views import PassportView
from passport.store.sql import driver_query

# How far ahead of the service's clock an event's time may be (clocks of scanners drift).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class EventView:
    """A recorded event as a caller may see it."""

    passport: str
    uri: str
    sequence: int
    kind: str
    status: str
    credential: dict[str, Any]
    restricted: dict[Tier, dict[str, Any]]
    ledger_index: int | None = None
    successor: PassportView | None = None  # the passport a remanufacture issued


@dataclass(frozen=True, slots=True)
class History:
    """What a passport's history says now: its last entry and its lifecycle state."""

    sequence: int
    last_entry: str
    state: Lifecycle


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
    sequence, _, last_entry = rows[-1]
    return History(sequence, last_entry, replay(kinds, passport=passport_id))


def check_recorder(caller: Caller, kind: EventKind) -> None:
    """Raise Forbidden unless the caller holds a role that records events of `kind`."""
    if not caller.roles & RECORDERS[kind]:
        roles = " or ".join(sorted(role.value for role in RECORDERS[kind]))
        raise Forbidden(f"only a {roles} may record a {kind.value} event; {caller.slug} is not one")


def _check_time(fields: Mapping[str, Any], at: datetime) -> None:
    occurred = datetime.fromisoformat(fields["occurred_at"])
    if occurred - at > CLOCK_SKEW:
        raise InvalidInput(
            "the event lies in the future",
            errors={"event.occurred_at": [f"is later than the service's clock ({at.isoformat()})"]},
        )


def record_event(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller,
    path: str,
    body: object,
    *,
    at: datetime,
    remember: Remember | None = None,
) -> EventView:
    """Sign the event with the caller's key and append it to the passport's history."""
    kind = _kind_of(ctx, body)
    check_recorder(caller, kind)
    link, passport = load_passport(sess, path)
    if kind is EventKind.PLACE_ON_MARKET and passport.org_id != caller.org_id:
        raise Forbidden("only the issuing manufacturer may place its product on the market")
    kind, tiers = parse_event(ctx.events, body)
    _check_time(tiers[Tier.PUBLIC], at)
    history = read_history(sess, passport.id)
    state = after(history.state, kind, passport=passport.id)
    successor = None
    if kind is EventKind.REMANUFACTURE:
        wanted = tiers[Tier.PUBLIC].pop("successor")
        uri = link.uri(ctx.base_url)
        successor = prepare_successor(sess, ctx, caller, passport, uri, wanted, at=at)
        tiers[Tier.PUBLIC]["successor"] = successor.view.uri
    claim = EventClaim(
        subject_id=link.uri(ctx.base_url),
        kind=kind,
        sequence=history.sequence + 1,
        previous_entry=history.last_entry,
        tiers=tiers,
    )
    signed = sign_event(
        claim,
        signer=signer_for(sess, ctx, caller),
        base_url=ctx.base_url,
        at=at,
        random_bytes=secrets.token_bytes,
    )
    view = EventView(
        passport=passport.id,
        uri=claim.subject_id,
        sequence=claim.sequence,
        kind=kind.value,
        status=state.status.value,
        credential=signed.public,
        restricted=signed.restricted,
    )
    sess.commit()  # end the reading transaction; the writing one starts under the lock

    def write(batch: Session) -> EventView:
        issued = None
        if successor is not None:  # the successor's issuance is logged first, then the event
            issued = store_successor(batch, successor, caller.org_id, passport.id, at=at)
        place = HistoryPlace(passport.id, claim.sequence, None)
        [index] = record_history(batch, [place], [signed], entry_kind(kind), at=at)
        if state.status is not history.state.status:
            driver_query(
                batch.connection(),
                "UPDATE passport SET status = ? WHERE id = ?",
                (state.status.value, passport.id),
            )
        logged = replace(view, ledger_index=index, successor=issued)
        if remember is not None:
            remember(batch, [logged])
        return logged

    return ctx.sequencer.run(
        write, entries=1, conflict="the passport's history changed concurrently; retry the event"
    )


def _kind_of(ctx: ServiceContext, body: object) -> EventKind:
    """Return the kind an event request names; InvalidInput when it names none we know."""
    kind = body.get("kind") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind not in ctx.events.categories:
        parse_event(ctx.events, body)  # raises, naming the field
    return EventKind(str(kind))
