"""SIGKILL a worker while it issues, again and again: nothing acknowledged is lost, the log audits.

One database across all trials (the log keeps growing). Each trial starts a fresh worker process
(tests/_ledger_worker.py) that builds a fresh app and runs `initialise` and `check_startup` as
`dpp serve` does on a restart, then issues small bulk batches through `issue_passports`, signing
checkpoints as the API does, and prints each committed batch. Once it has reported a random
number of committed batches (an event, never a time) it is killed with SIGKILL; the test process
then checks the log as an operator would before serving again.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text
from sqlmodel import Session

from passport.core.log.merkle import root
from passport.instance import check_startup
from passport.services.context import ServiceContext
from passport.services.ledger.audit.run import audit
from passport.services.ledger.log import committed_size
from passport.services.ledger.nodes import StoredNodes
from passport.services.orgs.organisations import create_organisation
from passport.store import db
from tests._ledger_worker import Worker
from tests.helpers import trials, worker_env
from tests.independent_log import leaf, mth

# With CI: at least 20 kills on SQLite, 6 on PostgreSQL; without, a few of each.
TRIALS = {"sqlite": trials(20, 5), "postgresql": trials(6, 2)}
SEED = 9162
ORG = "maker"
MAX_BATCH = 5


def check_after_crash(app: Flask, acked: dict[str, int], trial: int) -> int:
    """The checks after one kill; return the log's size."""
    where = f"after trial {trial}"
    with app.app_context(), Session(db.engine()) as sess:
        check_startup(app)  # a restart would refuse to serve a fork or a log behind its checkpoint
        size = committed_size(sess)
        entries = sess.execute(
            text("SELECT idx, kind, entry, passport_id FROM ledger_entry ORDER BY idx")
        ).all()
        assert [e.idx for e in entries] == list(range(size)), f"{where}: gaps or extra rows"
        kinds = Counter(e.kind for e in entries)
        assert kinds["key:registered"] == 1, where
        assert kinds["key:registered"] + kinds["passport:issued"] == size, where
        assert root(size, StoredNodes(sess)) == mth([leaf(bytes(e.entry)) for e in entries]), where

        # A batch is all or nothing: every logged passport has its passport and history rows.
        passports = sess.execute(text("SELECT count(*) FROM passport")).scalar_one()
        assert passports == kinds["passport:issued"], where
        history = {
            path: index
            for path, index in sess.execute(
                text("SELECT passport_id, ledger_index FROM history_entry")
            )
        }
        assert len(history) == kinds["passport:issued"], where
        stored = set(sess.execute(text("SELECT id FROM passport")).scalars().all())
        for path, index in acked.items():
            assert path in stored, f"{where}: acknowledged {path} has no passport row"
            assert history.get(path) == index, f"{where}: acknowledged {path} lost its entry"
            entry = entries[index]
            assert (entry.kind, entry.passport_id) == ("passport:issued", path), where

        publisher = app.extensions["passport.publisher"]
        report = audit(
            sess, publisher.key, publisher.keys_dir, base_url=app.config["DPP_BASE_URL"], workers=2
        )
        assert report.entries == size, where
    return size


@pytest.mark.slow
def test_sigkill_while_issuing_loses_nothing_acknowledged(app: Flask) -> None:
    """20 trials (6 on PostgreSQL; 5 and 2 without CI): a fresh worker (initialise +
    check_startup) issues batches of 1–5 passports and is SIGKILLed once it has reported 1–8
    committed batches, a moment into the next; after each kill the log is
    contiguous, its stored tree is the independent MTH, every batch is whole, every acknowledged
    passport is stored with its acknowledged ledger index, start-up checks and `dpp audit` pass."""
    ctx: ServiceContext = app.extensions["passport.services"]
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        create_organisation(
            sess,
            ctx,
            slug=ORG,
            name="Maker",
            roles=["manufacturer"],
            gcps=["8712345", "8712346"],  # the textile and the mattress examples
            at=datetime.now(UTC),
        )
    count = TRIALS["sqlite" if app.config["DATABASE_URL"].startswith("sqlite") else "postgresql"]
    rng = random.Random(SEED)
    acked: dict[str, int] = {}
    sizes = []

    def spawn() -> Worker:
        # The interpreter starts (imports) early; the app is built only after the go below.
        return Worker(
            worker_env(app),
            *("--org", ORG, "--seed", str(rng.randrange(1 << 30)), "--max-batch", str(MAX_BATCH)),
            *("--checkpoints", "--restart", "--hold"),
        )

    upcoming: Worker | None = spawn()
    try:
        for trial in range(count):
            worker, upcoming = upcoming, None
            assert worker is not None
            try:
                worker.go()  # the last worker is dead and checked: build the app, as on restart
                worker.wait_ready()
                worker.wait_batches(rng.randint(1, 8))  # the event the kill waits on
                # Spread the kill over the next batch (mid-transaction, mid-checkpoint, between
                # them); what the trial checks never depends on where it lands.
                time.sleep(rng.uniform(0, 0.05))
                worker.kill()
            finally:
                code = worker.finish(timeout=30)
            if trial + 1 < count:
                upcoming = spawn()  # its interpreter starts while this trial is checked
            assert code == -signal.SIGKILL, f"trial {trial}: did not die by SIGKILL\n{worker}"
            mine = worker.acknowledged()
            assert not mine.keys() & acked.keys(), f"trial {trial}: an id acknowledged twice"
            acked.update(mine)
            sizes.append(check_after_crash(app, acked, trial))
    finally:
        if upcoming is not None:
            upcoming.kill()
            upcoming.finish(timeout=10)
    assert len(set(acked.values())) == len(acked), "a ledger index was acknowledged twice"
    assert sizes == sorted(sizes)  # the log only grows
    assert sizes[-1] > len(acked) >= count  # every trial acknowledged a batch before its kill
