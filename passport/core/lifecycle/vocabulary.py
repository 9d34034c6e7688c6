"""The closed vocabulary of lifecycle events: kinds, outcomes, R-strategies and roles.

Each event kind names the R-strategy it serves on both ladders in use in the Netherlands, so a
reader never has to guess which ladder a number belongs to:

- the 10-step RVO/CBS ladder: R0 Refuse, R1 Rethink, R2 Reduce, R3 Reuse, R4 Repair,
  R5 Refurbish, R6 Remanufacture, R7 Repurpose, R8 Recycle, R9 Recover;
- the 6-step PBL/ICER ladder of regional monitoring, which folds repair, refurbishment,
  remanufacture and repurposing into one step: R1 Refuse and rethink, R2 Reduce, R3 Reuse,
  R4 Repair (lifetime extension of products and parts), R5 Recycle, R6 Recover.

Placing on the market, custody transfers and collection serve no strategy of their own; sorting
and ending a life serve the one their outcome names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from passport.core.errors import LedgerInconsistent
from passport.core.log.kinds import EVENT_PREFIX, is_event
from passport.core.product.access import Role


class EventKind(StrEnum):
    """What happened to a product; values are part of the signed credentials."""

    PLACE_ON_MARKET = "place-on-market"
    TRANSFER = "transfer"
    REPAIR = "repair"
    REFURBISH = "refurbish"
    REMANUFACTURE = "remanufacture"
    COLLECT = "collect"
    SORT = "sort"
    DISASSEMBLE = "disassemble"
    RECYCLE = "recycle"
    END_OF_LIFE = "end-of-life"


class SortOutcome(StrEnum):
    """Where a sorting line routes a product."""

    REUSE_NL = "reuse-nl"
    REUSE_ABROAD = "reuse-abroad"
    RECYCLING = "recycling"
    FIBRE_TO_FIBRE = "fibre-to-fibre"


class EndOfLifeOutcome(StrEnum):
    """How a life ends without recycling."""

    INCINERATED_WITH_ENERGY_RECOVERY = "incinerated-with-energy-recovery"
    INCINERATED = "incinerated"
    LANDFILLED = "landfilled"


@dataclass(frozen=True, slots=True)
class Step:
    """One step on one R-ladder: the ladder's name, the step's number and its name."""

    ladder: str
    step: str
    name: str

    def as_json(self) -> dict[str, str]:
        """Return the step as it is signed: `{"ladder": …, "step": "R4", "name": …}`."""
        return {"ladder": self.ladder, "step": self.step, "name": self.name}


RVO_CBS = "rvo-cbs-10"
PBL_ICER = "pbl-icer-6"
_TEN: tuple[str, ...] = ("refuse", "rethink", "reduce", "reuse", "repair", "refurbish")
_TEN += ("remanufacture", "repurpose", "recycle", "recover")
_SIX = ("refuse-and-rethink", "reduce", "reuse", "repair", "recycle", "recover")


def _steps(ten: int, six: int) -> tuple[Step, Step]:
    """Return the step `R{ten}` on the RVO/CBS ladder and `R{six}` on the PBL/ICER one."""
    return Step(RVO_CBS, f"R{ten}", _TEN[ten]), Step(PBL_ICER, f"R{six}", _SIX[six - 1])


_BY_KIND: Mapping[EventKind, tuple[Step, ...]] = MappingProxyType(
    {
        EventKind.PLACE_ON_MARKET: (),
        EventKind.TRANSFER: (),
        EventKind.REPAIR: _steps(4, 4),
        EventKind.REFURBISH: _steps(5, 4),
        EventKind.REMANUFACTURE: _steps(6, 4),
        EventKind.COLLECT: (),
        # Harvested components go into products of the same function (RVO/CBS: remanufacture).
        EventKind.DISASSEMBLE: _steps(6, 4),
        EventKind.RECYCLE: _steps(8, 5),
    }
)
_BY_OUTCOME: Mapping[str, tuple[Step, ...]] = MappingProxyType(
    {
        SortOutcome.REUSE_NL: _steps(3, 3),
        SortOutcome.REUSE_ABROAD: _steps(3, 3),
        SortOutcome.RECYCLING: _steps(8, 5),
        SortOutcome.FIBRE_TO_FIBRE: _steps(8, 5),
        EndOfLifeOutcome.INCINERATED_WITH_ENERGY_RECOVERY: _steps(9, 6),
        EndOfLifeOutcome.INCINERATED: (),
        EndOfLifeOutcome.LANDFILLED: (),
    }
)


def r_strategy(kind: EventKind, outcome: str | None = None) -> tuple[Step, ...]:
    """Return the R-strategy of an event on both ladders (empty when it serves none).

    Sorting and ending a life take theirs from the outcome; an outcome of another kind is not
    looked at.
    """
    if kind in (EventKind.SORT, EventKind.END_OF_LIFE):
        return _BY_OUTCOME.get(outcome or "", ())
    return _BY_KIND[kind]


# Who may record each kind. A retailer records custody with the manufacturer's role today.
RECORDERS: Mapping[EventKind, frozenset[Role]] = MappingProxyType(
    {
        # The issuer only (checked by the service): a maker, or a remanufacturer for the
        # successors it issued.
        EventKind.PLACE_ON_MARKET: frozenset({Role.MANUFACTURER, Role.REMANUFACTURER}),
        EventKind.TRANSFER: frozenset({Role.MANUFACTURER, Role.REPAIRER}),
        EventKind.REPAIR: frozenset({Role.REPAIRER}),
        EventKind.REFURBISH: frozenset({Role.REPAIRER}),
        EventKind.REMANUFACTURE: frozenset({Role.REMANUFACTURER}),
        EventKind.COLLECT: frozenset({Role.COLLECTOR}),
        EventKind.SORT: frozenset({Role.COLLECTOR, Role.RECYCLER}),
        EventKind.DISASSEMBLE: frozenset({Role.RECYCLER, Role.REMANUFACTURER}),
        EventKind.RECYCLE: frozenset({Role.RECYCLER}),
        EventKind.END_OF_LIFE: frozenset({Role.COLLECTOR, Role.RECYCLER}),
    }
)


def may_record(roles: frozenset[Role], kind: EventKind) -> bool:
    """Return whether an organisation holding `roles` may record an event of `kind`."""
    return bool(roles & RECORDERS[kind])


def entry_kind(kind: EventKind) -> str:
    """Return the ledger entry kind of an event (`event:repair`)."""
    return EVENT_PREFIX + kind.value


def event_kind(kind: str) -> EventKind | None:
    """Return the event kind a ledger entry kind records, or None for a passport version or
    anything else; an `event:` kind outside the vocabulary is a LedgerInconsistent."""
    if not is_event(kind):
        return None
    try:
        return EventKind(kind.removeprefix(EVENT_PREFIX))
    except ValueError:
        raise LedgerInconsistent(f"unknown event kind {kind!r}") from None
