"""Sorting lines: many events for many passports in one request, one outcome per item.

Each item is judged on its own, in file order, as `record_event` judges one event (kind,
role, passport, fields, state), with the events before it in the file applied: a collect then
a sort of one passport is fine, a second end of life is refused. Valid items are signed and
logged together in one transaction; each bad one is named with its problem and nothing of it
is stored. Remanufacture and recycling issue passports and lots of their own and are recorded
one at a time (`POST /passports/{id}/events`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from passport.core.errors import Forbidden, InvalidInput, NotFound, PassportError
from passport.core.lifecycle.credentials import EventClaim, sign_event
from passport.core.lifecycle.rules import parse_event
from passport.core.lifecycle.states import Lifecycle, after, replay
from passport.core.lifecycle.vocabulary import EventKind, entry_kind, event_kind
from passport.core.log.kinds import entry_bytes
from passport.core.log.merkle import leaf_hash
from passport.core.product.access import Caller, Tier
from passport.core.product.credentials import SignedVersion
from passport.core.product.gs1 import parse_path, path_on
from passport.services.context import ServiceContext
from passport.services.events.history import check_recorder, set_statuses
from passport.services.events.record import check_time, kind_of
from passport.services.orgs.organisations import signer_for
from passport.services.passports.history import HistoryPlace, record_history
from passport.services.passports.idempotency import Remember
from passport.store.sql import driver_query

Progress = Callable[[int], None]
ONE_AT_A_TIME = frozenset({EventKind.REMANUFACTURE, EventKind.RECYCLE})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one item: recorded (`ledger_index`), or refused with `error`."""

    item: int
    passport: str | None
    kind: str | None = None
    sequence: int | None = None
    ledger_index: int | None = None
    status: str | None = None  # the passport's lifecycle status after the event
    error: PassportError | None = None


@dataclass(slots=True)
class _Passport:
    org_id: int
    uri: str
    sequence: int
    last_entry: str
    state: Lifecycle
    initial: Lifecycle


@dataclass(slots=True)
class _Accepted:
    item: int
    passport: str
    kind: EventKind
    sequence: int
    signed: SignedVersion
    state: Lifecycle = field(default_factory=Lifecycle)


def _passports(sess: Session, ctx: ServiceContext, ids: set[str]) -> dict[str, _Passport]:
    """Load every named passport's issuer and history, 500 per statement."""
    found: dict[str, _Passport] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = driver_query(
            sess.connection(),
            f"SELECT p.id, p.org_id, h.sequence, h.kind, h.entry_hash FROM passport p"
            f" JOIN history_entry h ON h.passport_id = p.id WHERE p.id IN ({marks})"
            " ORDER BY p.id, h.sequence",
            chunk,
        )
        kinds: dict[str, list[EventKind]] = {}
        for passport_id, org_id, sequence, kind, entry_hash in rows:
            uri = f"{ctx.base_url}/{passport_id}"
            found[passport_id] = _Passport(
                org_id, uri, sequence, entry_hash, Lifecycle(), Lifecycle()
            )
            if (event := event_kind(kind)) is not None:
                kinds.setdefault(passport_id, []).append(event)
        for passport_id, events in kinds.items():
            state = replay(events, passport=passport_id)
            found[passport_id].state = found[passport_id].initial = state
    return found


def _path_of(item: object, base_url: str) -> str:
    """The Digital Link path of the passport an item names (a path or a URI on this ledger)."""
    named = item.get("passport") if isinstance(item, dict) else None
    if not isinstance(named, str):
        raise InvalidInput("no passport named", errors={"passport": ["a Digital Link path"]})
    path = path_on(named, base_url)
    if path is None:
        raise NotFound(f"{named} is not a passport of {base_url}")
    try:
        return parse_path(path).path
    except InvalidInput:
        raise NotFound(f"no passport {named!r}") from None


def _judge(
    ctx: ServiceContext,
    caller: Caller,
    item: object,
    passport: _Passport | None,
    path: str,
    at: datetime,
) -> tuple[_Passport, EventKind, dict[Tier, dict[str, Any]], Lifecycle]:
    """Judge one item as `record_event` judges one event; raise its problem."""
    if not isinstance(item, dict):
        raise InvalidInput("an event is a JSON object", errors={"item": ["must be an object"]})
    kind = kind_of(ctx, item)
    if kind in ONE_AT_A_TIME:
        raise InvalidInput(
            f"record {kind.value} events one at a time",
            errors={"kind": [f"{kind.value} issues passports or lots: POST …/events"]},
        )
    check_recorder(caller, kind)
    if passport is None:
        raise NotFound(f"no passport {path}")
    if kind is EventKind.PLACE_ON_MARKET and passport.org_id != caller.org_id:
        raise Forbidden("only the issuing manufacturer may place its product on the market")
    body = {key: value for key, value in item.items() if key != "passport"}
    kind, tiers = parse_event(ctx.events, body)
    check_time(tiers[Tier.PUBLIC], at)
    return passport, kind, tiers, after(passport.state, kind, passport=path)


def record_events(
    sess: Session,
    ctx: ServiceContext,
    caller: Caller,
    items: Sequence[object],
    *,
    at: datetime,
    row_errors: Mapping[int, Mapping[str, list[str]]] | None = None,
    progress: Progress | None = None,
    remember: Remember | None = None,
) -> list[Outcome]:
    """Record every valid item, in order, in one transaction; return one outcome per item.

    `row_errors` names the items (1-based) that could not even be read (a CSV cell that is not
    a number), with their errors by column.
    """
    if not items:
        raise InvalidInput("nothing to record", errors={"items": ["send at least one event"]})
    if len(items) > ctx.bulk_max_rows:
        raise InvalidInput(
            "too many events", errors={"items": [f"at most {ctx.bulk_max_rows} per request"]}
        )
    paths: dict[int, str | PassportError] = {}
    for number, item in enumerate(items, start=1):
        if row_errors and number in row_errors:
            paths[number] = InvalidInput("the row cannot be read", errors=row_errors[number])
            continue
        try:
            paths[number] = _path_of(item, ctx.base_url)
        except PassportError as exc:
            paths[number] = exc
    passports = _passports(sess, ctx, {p for p in paths.values() if isinstance(p, str)})
    signer = signer_for(sess, ctx, caller)
    outcomes: dict[int, Outcome] = {}
    accepted: list[_Accepted] = []
    for number, item in enumerate(items, start=1):
        path = paths[number]
        if not isinstance(path, str):
            outcomes[number] = Outcome(number, None, error=path)
            continue
        try:
            passport, kind, tiers, state = _judge(ctx, caller, item, passports.get(path), path, at)
        except PassportError as exc:
            outcomes[number] = Outcome(number, path, error=exc)
            continue
        claim = EventClaim(passport.uri, kind, passport.sequence + 1, passport.last_entry, tiers)
        signed = sign_event(
            claim, signer=signer, base_url=ctx.base_url, at=at, random_bytes=secrets.token_bytes
        )
        passport.sequence, passport.state = claim.sequence, state
        passport.last_entry = leaf_hash(entry_bytes(entry_kind(kind), signed.public_jcs)).hex()
        accepted.append(_Accepted(number, path, kind, claim.sequence, signed, state))
        if progress is not None and number % 100 == 0:
            progress(100)
    if progress is not None and len(items) % 100:
        progress(len(items) % 100)
    sess.commit()  # end the reading transaction; the writing one starts under the lock
    return ctx.sequencer.run(
        _writer(accepted, passports, outcomes, len(items), remember, org_id=caller.org_id, at=at),
        entries=max(1, len(accepted)),
        conflict="a passport's history changed concurrently; nothing was recorded, send again",
    )


def _writer(
    accepted: list[_Accepted],
    passports: Mapping[str, _Passport],
    refused: Mapping[int, Outcome],
    count: int,
    remember: Remember | None,
    *,
    org_id: int,
    at: datetime,
) -> Callable[[Session], list[Outcome]]:
    """The write job: log the accepted events in file order and move the passports' states."""

    def write(batch: Session) -> list[Outcome]:
        places = [HistoryPlace(a.passport, a.sequence, None, org_id) for a in accepted]
        kinds = [entry_kind(a.kind) for a in accepted]
        indices = record_history(batch, places, [a.signed for a in accepted], kinds, at=at)
        changed = [
            (passport.state.status, passport_id)
            for passport_id, passport in passports.items()
            if passport.state.status is not passport.initial.status
        ]
        set_statuses(batch, changed)
        outcomes = dict(refused)
        for item, index in zip(accepted, indices, strict=True):
            outcomes[item.item] = Outcome(
                item.item, item.passport, item.kind.value, item.sequence, index,
                item.state.status.value,
            )  # fmt: skip
        ordered = [outcomes[number] for number in range(1, count + 1)]
        if remember is not None:
            remember(batch, ordered)
        return ordered

    return write
