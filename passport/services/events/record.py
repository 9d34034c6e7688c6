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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from passport.core.errors import Forbidden, InvalidInput
from passport.core.lifecycle.credentials import EventClaim, sign_event
from passport.core.lifecycle.rules import parse_event
from passport.core.lifecycle.states import after
from passport.core.lifecycle.vocabulary import EventKind, entry_kind
from passport.core.product.access import Caller, Tier
from passport.services.context import ServiceContext
from passport.services.events.history import check_recorder, read_history, set_statuses
from passport.services.events.lots import LotView, lot_view
from passport.services.events.recycle import Recycling, prepare_recycling, store_recycling
from passport.services.events.remanufacture import (
    Successor,
    prepare_successor,
    store_successor,
)
from passport.services.orgs.organisations import signer_for
from passport.services.passports.claims import Claims, take_claims
from passport.services.passports.history import HistoryPlace, record_history
from passport.services.passports.idempotency import Remember
from passport.services.passports.read import load_passport
from passport.services.passports.views import PassportView

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
    lots: list[LotView] = field(default_factory=list)  # the lots a recycling run produced


def check_time(fields: Mapping[str, Any], at: datetime) -> None:
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
    kind = kind_of(ctx, body)
    check_recorder(caller, kind)
    link, passport = load_passport(sess, path)
    if kind is EventKind.PLACE_ON_MARKET and passport.org_id != caller.org_id:
        raise Forbidden("only the issuing manufacturer may place its product on the market")
    kind, tiers = parse_event(ctx.events, body)
    check_time(tiers[Tier.PUBLIC], at)
    history = read_history(sess, passport.id)
    state = after(history.state, kind, passport=passport.id)
    signer = signer_for(sess, ctx, caller)
    effects = _Effects()
    if kind is EventKind.REMANUFACTURE:
        wanted = tiers[Tier.PUBLIC].pop("successor")
        uri = link.uri(ctx.base_url)
        effects.successor = prepare_successor(sess, ctx, caller, passport, uri, wanted, at=at)
        tiers[Tier.PUBLIC]["successor"] = effects.successor.view.uri
    if kind is EventKind.RECYCLE:
        effects.recycling = prepare_recycling(
            sess, ctx, passport, tiers[Tier.PUBLIC], tiers, signer, caller=caller, at=at
        )
    claim = EventClaim(
        link.uri(ctx.base_url), kind, history.sequence + 1, history.last_entry, tiers
    )
    signed = sign_event(
        claim, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
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
        issued, lots = None, []
        place = HistoryPlace(passport.id, claim.sequence, None, caller.org_id)
        [index] = record_history(batch, [place], [signed], entry_kind(kind), at=at)
        if effects.successor is not None:  # then the successor, taking over its claims
            release = Claims(passport.id, claim.sequence, (), replaces=history.version_sequence)
            take_claims(batch, ctx.base_url, [release])
            issued = store_successor(
                batch, ctx, effects.successor, caller.org_id, passport.id, at=at
            )
        if effects.recycling is not None:  # then the further inputs' events and the lots
            recycling = effects.recycling
            indices = store_recycling(batch, recycling, caller.org_id, kind=entry_kind(kind), at=at)
            lots = [lot_view(lot, i) for lot, i in zip(recycling.lots, indices, strict=True)]
        if state.status is not history.state.status:
            set_statuses(batch, [(state.status, passport.id)])
        logged = replace(view, ledger_index=index, successor=issued, lots=lots)
        if remember is not None:
            remember(batch, [logged])
        return logged

    return ctx.sequencer.run(
        write,
        entries=1 + effects.entries(),
        conflict="the passport's history changed concurrently; retry the event",
    )


@dataclass(slots=True)
class _Effects:
    """What an event does besides its own entry: a successor issued, or a recycling run."""

    successor: Successor | None = None
    recycling: Recycling | None = None

    def entries(self) -> int:
        """The ledger entries these effects add."""
        if self.recycling is not None:
            return len(self.recycling.consumed) + len(self.recycling.lots)
        return 1 if self.successor is not None else 0


def kind_of(ctx: ServiceContext, body: object) -> EventKind:
    """Return the kind an event request names; InvalidInput when it names none we know."""
    kind = body.get("kind") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind not in ctx.events.categories:
        parse_event(ctx.events, body)  # raises, naming the field
    return EventKind(str(kind))
