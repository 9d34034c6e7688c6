"""The chain a passport's history forms: versions and events in order, and the links to the
passports before and after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from passport.core.errors import InvalidInput, LedgerInconsistent
from passport.core.lifecycle.credentials import event_of
from passport.core.lifecycle.lots import Balances, drawn_from, lot_of
from passport.core.lifecycle.states import Lifecycle, after
from passport.core.lifecycle.vocabulary import EventKind, event_kind
from passport.core.log.kinds import PASSPORT_KINDS, EntryKind


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """An entry whose inclusion in the checkpointed tree was proven."""

    index: int
    kind: str
    body: dict[str, Any]
    leaf_hash: bytes


def check_chain(passport: str, history: tuple[LoggedEntry, ...]) -> Lifecycle:
    """The history is one chain: numbered from 1 without gaps, each entry naming the one
    before it, issuance first, each correction superseding the version before it, and each
    event possible in the state the entries before it left. Return the state it leads to."""
    if not history:
        raise LedgerInconsistent("the bundle holds no version of the passport")
    previous: LoggedEntry | None = None
    version: LoggedEntry | None = None
    state = Lifecycle()
    for number, entry in enumerate(history, start=1):
        credential = entry.body["credential"]
        if credential["credentialSubject"]["id"] != passport:
            raise LedgerInconsistent(f"entry {entry.index}: credential is about another passport")
        if credential.get("sequence") != number:
            raise LedgerInconsistent(
                f"entry {entry.index}: sequence {credential.get('sequence')}, expected {number}"
            )
        if (entry.kind == EntryKind.PASSPORT_ISSUED) != (previous is None):
            raise LedgerInconsistent(
                f"entry {entry.index}: a history starts with its issuance, and only there"
            )
        if previous is None:
            if "previousEntry" in credential or "supersedes" in credential:
                raise LedgerInconsistent(f"entry {entry.index}: the first version links backwards")
        elif credential.get("previousEntry") != previous.leaf_hash.hex():
            raise LedgerInconsistent(
                f"entry {entry.index}: previousEntry does not match entry {previous.index}"
            )
        kind = event_kind(entry.kind)
        if kind is None:
            if version is not None and credential.get("supersedes") != _id_of(version):
                raise LedgerInconsistent(f"entry {entry.index}: supersedes the wrong version")
            version = entry
        else:
            event = event_of(credential)
            if event is None or event.get("kind") != kind.value or "supersedes" in credential:
                raise LedgerInconsistent(f"entry {entry.index}: not a {kind.value} event")
            state = after(state, kind, passport=passport)
        previous = entry
    return state


def _id_of(entry: LoggedEntry) -> Any:
    return entry.body["credential"]["id"]


def subject_of(entry: LoggedEntry) -> Any:
    return entry.body["credential"]["credentialSubject"]["id"]


def check_links(
    passport: str,
    history: tuple[LoggedEntry, ...],
    linked: tuple[LoggedEntry, ...],
    claimants: set[int] | frozenset[int] = frozenset(),
) -> None:
    """Remanufacture links hold both ways: each remanufacture event of the passport names a
    successor whose first version (in the bundle) names the passport as its predecessor; a
    passport with a predecessor has that predecessor's remanufacture event naming it. The
    bundle holds no other entry about another passport (but `claimants`, the versions of other
    passports that claim the lots it carries)."""
    wanted: set[int] = set(claimants)
    for entry in history:
        event = event_of(entry.body["credential"])
        if event is None or event.get("kind") != EventKind.REMANUFACTURE.value:
            continue
        found = [
            e
            for e in linked
            if e.kind == EntryKind.PASSPORT_ISSUED and subject_of(e) == event.get("successor")
        ]
        if not found or found[0].body["credential"].get("predecessor") != passport:
            raise LedgerInconsistent(
                f"entry {entry.index}: successor {event.get('successor')} does not point back"
            )
        wanted.add(found[0].index)
    predecessor = history[0].body["credential"].get("predecessor")
    if predecessor is not None:
        found = [
            e
            for e in linked
            if subject_of(e) == predecessor
            and (event := event_of(e.body["credential"])) is not None
            and event.get("kind") == EventKind.REMANUFACTURE.value
            and event.get("successor") == passport
        ]
        if not found:
            raise LedgerInconsistent(
                f"entry {history[0].index}: predecessor {predecessor} names no such successor"
            )
        wanted.add(found[0].index)
    for entry in linked:
        if entry.index not in wanted:
            raise LedgerInconsistent(f"entry {entry.index}: credential is about another passport")


def check_materials(
    passport: str,
    history: tuple[LoggedEntry, ...],
    linked: tuple[LoggedEntry, ...],
    lots: tuple[LoggedEntry, ...],
) -> set[int]:
    """The lots a bundle carries balance as far as it can see: replayed in log order with the
    passport's versions and the current versions of the other passports that claim them, no
    lot is ever claimed past its mass; each lot the passport claims is there; a recycling run
    of the passport produced exactly the lots its event names. Return the indices of the
    other passports' entries this justifies."""
    base = passport[: passport.index("/01/")] if "/01/" in passport else passport
    balances = Balances()
    for entry in lots:
        credential = entry.body["credential"]
        lot = lot_of(credential)
        if lot is None:
            raise LedgerInconsistent(f"entry {entry.index}: a lot entry states no lot")
        balances.produce(subject_of(entry), lot["material"], lot["mass_g"], index=entry.index)
    justified: set[int] = set()
    own: set[str] = set()  # the lots a version of the passport drew on
    steps = [e for e in (*history, *linked) if e.kind in PASSPORT_KINDS]
    steps += [e for e in history if event_kind(e.kind) is EventKind.REMANUFACTURE]
    for entry in sorted(steps, key=lambda e: e.index):
        credential = entry.body["credential"]
        if entry.kind not in PASSPORT_KINDS:  # the passport's remanufacture: claims pass on
            balances.release(passport)
            continue
        # A version issued before 0.2 names no status-list place, and its recycled content was
        # never drawn from recorded lots (`dpp audit` skips it by log position likewise).
        if "credentialStatus" not in credential:
            continue
        subject = credential["credentialSubject"]
        try:
            drawn = drawn_from(subject.get("product", {}), base)
        except InvalidInput as exc:
            raise LedgerInconsistent(f"entry {entry.index}: {exc.detail}") from None
        if subject["id"] != passport:
            drawn = [item for item in drawn if item.lot in balances.mass]  # what it can see
            if not drawn:
                continue
            justified.add(entry.index)
        else:
            own |= {item.lot for item in drawn}
        balances.claim(subject["id"], drawn, index=entry.index)
    produced = _check_outputs(history, lots)
    unused = {e.index for e in lots if e.index not in produced and subject_of(e) not in own}
    if unused:
        raise LedgerInconsistent(f"entry {min(unused)}: a lot the passport neither made nor claims")
    return justified


def _check_outputs(history: tuple[LoggedEntry, ...], lots: tuple[LoggedEntry, ...]) -> set[int]:
    """The passport's recycling run names each lot it produced, as the lot states itself."""
    by_uri = {subject_of(e): e for e in lots}
    produced: set[int] = set()
    for entry in history:
        event = event_of(entry.body["credential"])
        if event is None or event.get("kind") != EventKind.RECYCLE.value:
            continue
        for output in event.get("outputs", []):
            lot_entry = by_uri.get(output.get("lot"))
            lot = lot_of(lot_entry.body["credential"]) if lot_entry is not None else None
            stated = (output.get("material"), output.get("mass_g"), event.get("batch"))
            if lot is None or (lot["material"], lot["mass_g"], lot["batch"]) != stated:
                raise LedgerInconsistent(
                    f"entry {entry.index}: output {output.get('lot')} is not the lot it names"
                )
            produced.add(lot_entry.index)  # type: ignore[union-attr]
        total = sum(int(o.get("mass_g", 0)) for o in event.get("outputs", []))
        if total > int(event.get("mass_in_g", 0)):
            raise LedgerInconsistent(f"entry {entry.index}: the lots outweigh the input")
    return produced
