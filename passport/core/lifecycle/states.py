"""A passport's lifecycle state and the events each state allows.

A passport is `active` from issuance. Remanufacture makes it `superseded` (its successor carries
on), recycling or an end of life without recycling makes it `end-of-life`; neither state allows
another event. While active, a product is placed on the market at most once, and once
disassembled it is no longer a product to repair, refurbish, remanufacture or place: only
custody, collection, sorting, recycling and an end of life may follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from passport.core.errors import Conflict
from passport.core.lifecycle.vocabulary import EventKind


class Status(StrEnum):
    """Where a passport stands; published in its status list and filterable in listings."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    END_OF_LIFE = "end-of-life"


class WrongState(Conflict):
    """The event cannot happen to a product in its present state (409)."""

    code = "wrong-state"
    title = "Event not allowed in this state"

    def __init__(self, detail: str, state: Lifecycle) -> None:
        super().__init__(detail, errors={"kind": [detail]})
        self.state = state


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What the events so far have made of a passport."""

    status: Status = Status.ACTIVE
    placed: bool = False
    disassembled: bool = False

    def describe(self) -> str:
        """Return the state in words, for problems and views."""
        if self.status is not Status.ACTIVE:
            return self.status.value
        return "active, disassembled" if self.disassembled else "active"


_ENDS = {
    EventKind.REMANUFACTURE: Status.SUPERSEDED,
    EventKind.RECYCLE: Status.END_OF_LIFE,
    EventKind.END_OF_LIFE: Status.END_OF_LIFE,
}
_NOT_AFTER_DISASSEMBLY = frozenset(
    {
        EventKind.PLACE_ON_MARKET,
        EventKind.REPAIR,
        EventKind.REFURBISH,
        EventKind.REMANUFACTURE,
        EventKind.DISASSEMBLE,
    }
)


def after(state: Lifecycle, kind: EventKind, *, passport: str = "the passport") -> Lifecycle:
    """Return the state after an event of `kind`; raise WrongState saying why it cannot be."""
    if state.status is not Status.ACTIVE:
        raise WrongState(
            f"{passport} is {state.status.value}: no {kind.value} event may follow", state
        )
    if kind is EventKind.PLACE_ON_MARKET and state.placed:
        raise WrongState(f"{passport} is already placed on the market", state)
    if state.disassembled and kind in _NOT_AFTER_DISASSEMBLY:
        raise WrongState(
            f"{passport} is disassembled: no {kind.value} event may follow (only transfer, "
            "collect, sort, recycle or end-of-life)",
            state,
        )
    if kind in _ENDS:
        return replace(state, status=_ENDS[kind])
    if kind is EventKind.PLACE_ON_MARKET:
        return replace(state, placed=True)
    if kind is EventKind.DISASSEMBLE:
        return replace(state, disassembled=True)
    return state


def replay(kinds: Iterable[EventKind], *, passport: str = "the passport") -> Lifecycle:
    """Return the state a history of events leads to; raise WrongState at the first that
    could not have happened."""
    state = Lifecycle()
    for kind in kinds:
        state = after(state, kind, passport=passport)
    return state
