"""The lifecycle rules: event vocabulary, R-ladders, recorders, states and event credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput, LedgerInconsistent
from passport.core.lifecycle.credentials import EventClaim, event_of, sign_event
from passport.core.lifecycle.rules import parse_event
from passport.core.lifecycle.states import Lifecycle, Status, WrongState, after, replay
from passport.core.lifecycle.vocabulary import (
    RECORDERS,
    EndOfLifeOutcome,
    EventKind,
    SortOutcome,
    entry_kind,
    event_kind,
    r_strategy,
)
from passport.core.product.access import Role, Tier
from passport.core.product.credentials import check_restricted
from passport.core.signing.dataintegrity import verify_credential
from passport.core.signing.ed25519 import public_key_bytes
from passport.services.context import load_event_rules
from tests.core.test_credentials import AT, BASE_URL, KEY, SIGNER, SUBJECT, counter_bytes
from tests.helpers import EXAMPLES

ENDING = {EventKind.REMANUFACTURE, EventKind.RECYCLE, EventKind.END_OF_LIFE}
RULES = load_event_rules()


def test_every_kind_has_recorders_and_no_reader_only_role_records() -> None:
    assert set(RECORDERS) == set(EventKind)
    for roles in RECORDERS.values():
        assert roles
        assert not roles & {Role.AUDITOR, Role.ADMIN}


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_strategy_is_one_step_on_each_ladder(kind: EventKind) -> None:
    outcomes: list[str | None] = [None, *SortOutcome, *EndOfLifeOutcome]
    for outcome in outcomes:
        steps = r_strategy(kind, outcome)
        assert [s.ladder for s in steps] in ([], ["rvo-cbs-10", "pbl-icer-6"])
        if steps:
            ten, six = (int(s.step[1:]) for s in steps)
            assert 0 <= ten <= 9
            assert 1 <= six <= 6


def test_known_steps_on_both_ladders() -> None:
    def steps(kind: EventKind, outcome: str | None = None) -> list[str]:
        return [s.step for s in r_strategy(kind, outcome)]

    assert steps(EventKind.REPAIR) == ["R4", "R4"]
    assert steps(EventKind.REFURBISH) == ["R5", "R4"]
    assert steps(EventKind.REMANUFACTURE) == ["R6", "R4"]
    assert steps(EventKind.RECYCLE) == ["R8", "R5"]
    assert steps(EventKind.SORT, "reuse-abroad") == ["R3", "R3"]
    assert steps(EventKind.SORT, "fibre-to-fibre") == ["R8", "R5"]
    assert steps(EventKind.END_OF_LIFE, "incinerated-with-energy-recovery") == ["R9", "R6"]
    assert steps(EventKind.END_OF_LIFE, "landfilled") == []
    assert steps(EventKind.TRANSFER) == []


def test_entry_kinds_round_trip_and_unknown_event_kinds_are_refused() -> None:
    for kind in EventKind:
        assert event_kind(entry_kind(kind)) is kind
    assert event_kind("passport:issued") is None
    with pytest.raises(LedgerInconsistent):
        event_kind("event:teleport")


@given(st.lists(st.sampled_from(list(EventKind)), max_size=12))
def test_replay_accepts_exactly_the_histories_the_rules_allow(kinds: list[EventKind]) -> None:
    """Model: nothing after an ending event, one placement, nothing of a product's own after
    disassembly; the state is the last ending event's, or active."""
    ok, placed, taken_apart, status = True, False, False, Status.ACTIVE
    for kind in kinds:
        if status is not Status.ACTIVE or (kind is EventKind.PLACE_ON_MARKET and placed):
            ok = False
            break
        own = {EventKind.PLACE_ON_MARKET, EventKind.REPAIR, EventKind.REFURBISH}
        if taken_apart and kind in own | {EventKind.REMANUFACTURE, EventKind.DISASSEMBLE}:
            ok = False
            break
        placed |= kind is EventKind.PLACE_ON_MARKET
        taken_apart |= kind is EventKind.DISASSEMBLE
        if kind in ENDING:
            status = Status.SUPERSEDED if kind is EventKind.REMANUFACTURE else Status.END_OF_LIFE
    if ok:
        assert replay(kinds).status is status
    else:
        with pytest.raises(WrongState) as caught:
            replay(kinds, passport="P")
        assert caught.value.detail.startswith("P is ")


@pytest.mark.parametrize("ending", sorted(ENDING))
def test_no_event_follows_an_ending_one(ending: EventKind) -> None:
    state = after(Lifecycle(), ending)
    for kind in EventKind:
        with pytest.raises(WrongState, match=state.status.value):
            after(state, kind)


def _example(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / "events" / f"{kind}.json").read_text())
    return loaded


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**4))
def test_what_an_act_gives_out_never_outweighs_what_it_took_in(
    mass_in: int, mass_out: int, part: int
) -> None:
    body = _example("repair") | {"mass_in_g": mass_in, "mass_out_g": mass_out}
    body["parts_replaced"] = [{"part": "zip", "mass_g": part}]
    if mass_out <= mass_in + part:
        assert parse_event(RULES, body)[0] is EventKind.REPAIR
    else:
        with pytest.raises(InvalidInput) as caught:
            parse_event(RULES, body)
        assert set(caught.value.errors) == {"event.mass_out_g"}


@given(st.lists(st.integers(0, 20_000), min_size=1, max_size=5), st.integers(0, 60_000))
def test_harvested_components_never_outweigh_the_product(masses: list[int], mass_in: int) -> None:
    body = _example("disassemble") | {"mass_in_g": mass_in}
    body["components"] = [
        {"component": f"c{i}", "material": "steel", "mass_g": m, "destination": "recycling"}
        for i, m in enumerate(masses)
    ]
    if sum(masses) <= mass_in:
        parse_event(RULES, body)
    else:
        with pytest.raises(InvalidInput) as caught:
            parse_event(RULES, body)
        assert set(caught.value.errors) == {"event.components"}


def test_an_event_credential_binds_its_restricted_tiers_and_verifies() -> None:
    kind, tiers = parse_event(RULES, _example("disassemble"))
    claim = EventClaim(SUBJECT, kind, 3, "ab" * 32, tiers)
    signed = sign_event(
        claim, signer=SIGNER, base_url=BASE_URL, at=AT, random_bytes=counter_bytes()
    )
    public = signed.public
    assert public["type"] == ["VerifiableCredential", "LifecycleEventCredential"]
    assert public["sequence"] == 3
    assert public["previousEntry"] == "ab" * 32
    event = event_of(public)
    assert event is not None
    assert event["kind"] == "disassemble"
    assert "facility" not in event
    assert "documents" not in event
    key = public_key_bytes(KEY.public_key())
    verify_credential(public, resolve_key=lambda _m: key)
    assert set(signed.restricted) == {Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY}
    for restricted in signed.restricted.values():
        check_restricted(public, restricted)
        verify_credential(restricted, resolve_key=lambda _m: key)
        assert restricted["sequence"] == 3
