"""Four processes appending at once; SIGKILL at random moments: the log stays whole.

The workers are tests/_ledger_worker.py (one org, no restart, no checkpoints): the plain
write path, where tests/services/test_crash.py adds restarts and checkpoints.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session

from passport.core.log.merkle import root
from passport.services.ledger.audit.run import audit
from passport.services.ledger.nodes import StoredNodes
from passport.store import db
from tests._ledger_worker import Worker
from tests.helpers import trials, worker_env
from tests.independent_log import leaf, mth


def start(app: Flask, rounds: int, seed: int) -> Worker:
    """A worker issuing `rounds` batches (0: until killed) as `maker`."""
    return Worker(worker_env(app), "--org", "maker", "--rounds", str(rounds), "--seed", str(seed))


def check_log(app: Flask, acked: dict[str, int]) -> int:
    """Contiguous, no duplicates, stored root = independent root; audit passes; acks present."""
    with app.app_context(), Session(db.engine()) as sess:
        indices = [r[0] for r in sess.execute(text("SELECT idx FROM ledger_entry ORDER BY idx"))]
        assert indices == list(range(len(indices)))
        entries = [
            bytes(r[0]) for r in sess.execute(text("SELECT entry FROM ledger_entry ORDER BY idx"))
        ]
        assert root(len(entries), StoredNodes(sess)) == mth([leaf(e) for e in entries])
        stored = dict(
            sess.execute(text("SELECT passport_id, ledger_index FROM history_entry")).all()
        )
        for passport_id, index in acked.items():
            assert stored.get(passport_id) == index, passport_id
        publisher = app.extensions["passport.publisher"]
        audit(sess, publisher.key, publisher.keys_dir, base_url=app.config["DPP_BASE_URL"])
        return len(entries)


def test_four_processes_append_without_gaps_or_forks(app: Flask, maker: str) -> None:
    workers = [start(app, rounds=12, seed=seed) for seed in range(4)]
    acked: dict[str, int] = {}
    try:
        for worker in workers:
            assert worker.finish(timeout=240) == 0, str(worker)
            mine = worker.acknowledged()
            assert len(mine) == worker.issued(), str(worker)
            assert not mine.keys() & acked.keys(), "a passport was acknowledged to two workers"
            acked.update(mine)
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()
            worker.finish(timeout=10)
    assert len(set(acked.values())) == len(acked)  # no index handed out twice
    size = check_log(app, acked)
    assert size == 1 + len(acked)  # the key registration and every passport issued


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_acknowledged(app: Flask, maker: str) -> None:
    """20 trials (4 without CI): SIGKILL once a worker reported 1–6 committed batches."""
    rng = random.Random(2026)
    acked: dict[str, int] = {}
    count = trials(20, 4)
    for trial in range(count):
        worker = start(app, rounds=0, seed=rng.randrange(1 << 30))
        try:
            worker.wait_ready()
            worker.wait_batches(rng.randint(1, 6))  # the event the kill waits on
            time.sleep(rng.uniform(0, 0.05))  # spreads the kill over the next batch only
            worker.kill()
        finally:
            code = worker.finish(timeout=60)
        assert code == -signal.SIGKILL, f"trial {trial}: did not die by SIGKILL\n{worker}"
        mine = worker.acknowledged()
        assert not mine.keys() & acked.keys(), f"trial {trial}: an id acknowledged twice"
        acked.update(mine)
        check_log(app, acked)  # after each "restart": whole, audited, nothing acked lost
    assert len(acked) >= count


def test_concurrent_writes_share_batches(app: Flask, maker: str) -> None:
    """Threads of one process issuing at once are committed together (group commit)."""
    import json
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from passport.core.product.access import Caller
    from passport.services.context import SCHEMAS_DIR, ServiceContext
    from passport.services.orgs.organisations import get_organisation
    from passport.services.passports.issue import issue_passport

    ctx: ServiceContext = app.extensions["passport.services"]
    body = json.loads((SCHEMAS_DIR / "examples" / "textile.json").read_text("utf-8"))
    before = ctx.sequencer.batches

    def one(_n: int) -> tuple[str, int]:
        with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
            org = get_organisation(sess, "maker")
            caller = Caller(org.id, org.slug, org.roles)
            view = issue_passport(sess, ctx, caller, body, at=datetime.now(UTC))
            assert view.ledger_index is not None
            return view.id, view.ledger_index

    with ThreadPoolExecutor(max_workers=8) as pool:
        acked = dict(pool.map(one, range(48)))
    assert len(acked) == 48
    assert ctx.sequencer.batches - before < 48  # some requests shared a transaction
    check_log(app, acked)


def _three_jobs_in_one_batch(
    app: Flask, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False, same_row: bool = False
) -> tuple[dict[str, Any], dict[str, int], int]:
    """Run "first", a middle job and "last" in one batch of a fresh sequencer; return each
    job's result (or error), how often each job ran, and how many savepoints were taken. The
    batch must hold one transaction throughout: letting go of it would let go of the ledger's
    lock, and another writer could take it between the attempts.

    fail: the middle job raises after appending. same_row: the first and the middle job add
    an ORM row with the same key to the session, which conflicts only when it is flushed.
    """
    from datetime import UTC, datetime

    from passport.core.errors import InvalidInput, PassportError
    from passport.services.ledger import sequencer as module
    from passport.services.ledger.log import NewEntry, append
    from passport.services.ledger.sequencer import Sequencer
    from passport.store.tables import CheckpointRow

    at = datetime.now(UTC)
    savepoints = []
    begin_nested = Session.begin_nested
    monkeypatch.setattr(
        Session, "begin_nested", lambda sess: savepoints.append(1) or begin_nested(sess)
    )
    transactions: list[object] = []

    def begin_write(sess: Session) -> None:
        module_begin_write(sess)
        transactions.append(sess.get_transaction())

    module_begin_write = module.begin_write
    monkeypatch.setattr(module, "begin_write", begin_write)
    # The batch closes when its 9 entries are queued (max_entries), an event; max_wait only
    # bounds a hung test.
    sequencer = Sequencer(db.engine_of(app), max_entries=9, max_wait=60)
    results: dict[str, Any] = {}
    runs = {"first": 0, "middle": 0, "last": 0}

    def caller(name: str, turn: int) -> None:
        def job(sess: Session) -> list[int]:
            runs[name] += 1
            indices = append(sess, [NewEntry("test", name.encode())] * 3, at=at)
            if fail and name == "middle":
                raise InvalidInput("refused after appending")
            if same_row and name != "last":
                sess.add(CheckpointRow(size=10**9, note=name, created_at=at))
            return indices

        with sequencer._cond:  # queue in turn: once the callers before this one are queued
            assert sequencer._cond.wait_for(lambda: len(sequencer._queue) == turn, timeout=30)
        try:
            results[name] = sequencer.run(job, entries=3, conflict="taken")
        except PassportError as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=caller, args=(name, turn))
        for turn, name in enumerate(("first", "middle", "last"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(results) == {"first", "middle", "last"}, results
    sequencer.close()
    assert sequencer.batches == 1  # all three shared one committed transaction
    assert len(transactions) == 1
    return results, runs, len(savepoints)


def _stored_entries(app: Flask) -> list[bytes]:
    with app.app_context(), Session(db.engine()) as sess:
        entries = [
            bytes(r[0]) for r in sess.execute(text("SELECT entry FROM ledger_entry ORDER BY idx"))
        ]
        assert root(len(entries), StoredNodes(sess)) == mth([leaf(e) for e in entries])
    return entries


def test_a_batch_where_no_job_fails_runs_each_job_once_in_one_savepoint(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    results, runs, savepoints = _three_jobs_in_one_batch(app, monkeypatch, fail=False)
    assert runs == {"first": 1, "middle": 1, "last": 1}
    assert savepoints == 1
    before = results["first"][0]
    assert results["middle"] == [before + 3, before + 4, before + 5]
    assert results["last"] == [before + 6, before + 7, before + 8]
    assert _stored_entries(app)[before:] == [b"first"] * 3 + [b"middle"] * 3 + [b"last"] * 3


def test_a_rolled_back_job_leaves_no_trace_in_its_batch(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs of one batch reuse the frontier; one that fails after appending is undone whole:
    the batch runs again, each job in its own savepoint, and the others commit."""
    from passport.core.errors import InvalidInput

    results, runs, savepoints = _three_jobs_in_one_batch(app, monkeypatch, fail=True)
    assert isinstance(results["middle"], InvalidInput)
    # The attempt all at once stops at the failure; then each job runs in its own savepoint.
    assert runs == {"first": 2, "middle": 2, "last": 1}
    assert savepoints == 1 + 3
    before = results["first"][0]
    assert results["last"] == [before + 3, before + 4, before + 5]  # no gap where it was
    assert _stored_entries(app)[before:] == [b"first"] * 3 + [b"last"] * 3


def test_a_conflict_found_when_the_session_is_flushed_fails_only_its_job(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row a job adds to the session (the kept response of an Idempotency-Key) is written
    at flush: the attempt all at once flushes when its savepoint is released, so a conflict
    there is one job's, found again by the rerun, not the whole batch's."""
    from passport.core.errors import Conflict

    results, runs, savepoints = _three_jobs_in_one_batch(app, monkeypatch, same_row=True)
    assert isinstance(results["middle"], Conflict)
    assert results["middle"].detail == "taken"
    assert runs == {"first": 2, "middle": 2, "last": 2}  # the conflict came after all three
    assert savepoints == 1 + 3
    before = results["first"][0]
    assert results["last"] == [before + 3, before + 4, before + 5]
    assert _stored_entries(app)[before:] == [b"first"] * 3 + [b"last"] * 3
    with app.app_context(), Session(db.engine()) as sess:
        note = sess.execute(text("SELECT note FROM checkpoint WHERE size = 1000000000"))
        assert note.scalar_one() == "first"


def test_callers_answered_together_share_the_next_batch_without_waiting(app: Flask) -> None:
    """The first batch waits out max_wait; later ones close once all its callers are back."""
    from datetime import UTC, datetime

    from passport.services.ledger.log import NewEntry, append
    from passport.services.ledger.sequencer import Sequencer

    at = datetime.now(UTC)
    max_wait, callers, rounds = 2.0, 4, 3
    sequencer = Sequencer(db.engine_of(app), max_wait=max_wait)
    indices: list[int] = []
    deadlines = []  # batches closed because max_wait ran out, not because all callers came

    class Watched(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            woken = super().wait(timeout)
            if not woken:
                deadlines.append(len(indices))
            return woken

    sequencer._cond = Watched()  # before any caller: the sequencer waits on it for callers
    started = threading.Barrier(callers)

    def caller(name: str) -> None:
        started.wait()
        for n in range(rounds):
            entry = NewEntry("test", f"{name}-{n}".encode())
            indices.extend(
                sequencer.run(
                    lambda sess, e=entry: append(sess, [e], at=at), entries=1, conflict=""
                )
            )

    threads = [threading.Thread(target=caller, args=(f"c{i}",)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sequencer.close()
    assert sequencer.batches == rounds  # every batch held all four callers
    # Only the first batch waits out max_wait (it cannot know how many callers there are).
    assert deadlines == [0], deadlines
    assert sorted(indices) == list(range(min(indices), min(indices) + callers * rounds))
