"""Four OS processes issue passports into one log at once: no gaps, no duplicates, one tree.

Each worker (tests/_ledger_worker.py) builds its own app, as a gunicorn worker does, and issues
through `issue_passports`, the real write path (sequencer, lock row, history rows); with
checkpoints it also calls `Publisher.after_write()` after each batch, as the API does.
"""

from __future__ import annotations

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
from tests.helpers import worker_env
from tests.independent_log import leaf, mth

WORKERS = 4
ROUNDS = 15
MAX_BATCH = 5
ORGS = ("weaver", "spinner")  # two issuers: two key registrations; workers share their keys


def run_workers(app: Flask, *extra: str) -> list[Worker]:
    """Start the workers, let them all begin at once and wait until every one has finished."""
    workers = [
        Worker(
            worker_env(app),
            *("--org", ORGS[n % len(ORGS)], "--rounds", str(ROUNDS), "--seed", str(n)),
            *("--max-batch", str(MAX_BATCH), "--wait", *extra),
        )
        for n in range(WORKERS)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        for worker in workers:
            worker.go()
        for worker in workers:
            worker.finish(timeout=180)
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()
            worker.finish(timeout=10)
    return workers


@pytest.mark.parametrize("checkpoints", [False, True], ids=["issue", "issue+checkpoints"])
def test_four_processes_issue_in_parallel_into_one_log(app: Flask, checkpoints: bool) -> None:
    """4 processes × 15 batches of 1–5 passports at once: every worker exits 0, indices are
    0..n-1 once each, n = key registrations + passports issued, every history row points at
    its own logged credential, the stored tree is the RFC 9162 tree of the stored entries
    (independent MTH), `dpp audit` passes and the signed checkpoints match at start-up."""
    ctx: ServiceContext = app.extensions["passport.services"]
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        for slug in ORGS:
            create_organisation(
                sess,
                ctx,
                slug=slug,
                name=slug.title(),
                roles=["manufacturer"],
                gcps=["8712345", "8712346"],  # the textile and the mattress examples
                at=datetime.now(UTC),
            )

    workers = run_workers(app, *(["--checkpoints"] if checkpoints else []))

    acked: dict[str, int] = {}
    issued = 0
    for number, worker in enumerate(workers):
        assert worker.proc.returncode == 0, f"worker {number} failed\n{worker}"
        mine = worker.acknowledged()
        assert len(mine) == worker.issued(), f"worker {number}\n{worker}"
        assert not mine.keys() & acked.keys(), "a passport was acknowledged to two workers"
        acked.update(mine)
        issued += worker.issued()
    assert issued >= WORKERS * ROUNDS
    assert len(set(acked.values())) == len(acked), "a ledger index was handed out twice"

    with app.app_context(), Session(db.engine()) as sess:
        size = committed_size(sess)
        entries = sess.execute(
            text("SELECT idx, kind, entry, passport_id FROM ledger_entry ORDER BY idx")
        ).all()
        assert [e.idx for e in entries] == list(range(size)), "gaps or duplicates in the log"
        assert size == len(ORGS) + issued  # the key registrations and every passport issued
        assert Counter(e.kind for e in entries) == {
            "key:registered": len(ORGS),
            "passport:issued": issued,
        }

        history = sess.execute(
            text("SELECT passport_id, sequence, ledger_index FROM history_entry")
        ).all()
        assert len(history) == issued
        assert len({h.ledger_index for h in history}) == issued, "two rows share a ledger index"
        for row in history:
            assert row.sequence == 1
            assert acked.get(row.passport_id) == row.ledger_index, row.passport_id
            entry = entries[row.ledger_index]
            assert entry.kind == "passport:issued"
            assert entry.passport_id == row.passport_id
        assert {row.passport_id for row in history} == set(acked)
        assert sess.execute(text("SELECT count(*) FROM passport")).scalar_one() == issued

        assert root(size, StoredNodes(sess)) == mth([leaf(bytes(e.entry)) for e in entries])
        publisher = app.extensions["passport.publisher"]
        report = audit(
            sess, publisher.key, publisher.keys_dir, base_url=app.config["DPP_BASE_URL"], workers=2
        )
        assert report.entries == size
        assert (report.checkpoints > 0) is checkpoints
    with app.app_context():
        check_startup(app)  # any checkpoint the workers signed matches the stored tree
