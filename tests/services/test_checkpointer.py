"""The checkpointer: every entry covered soon after its append, and no lock until one is due."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session

from passport.services.ledger import publisher as module
from passport.services.ledger.checkpoints import latest
from passport.services.ledger.log import committed_size
from passport.services.ledger.publisher import Publisher
from passport.store import db


def _sizes(app: Flask) -> tuple[int, int]:
    """(entries committed, entries the newest checkpoint covers)."""
    with app.app_context(), Session(db.engine()) as sess:
        last = latest(sess)
        return committed_size(sess), 0 if last is None else last.size


def _wait_covered(app: Flask, seconds: float) -> float:
    started = time.monotonic()
    while True:
        size, covered = _sizes(app)
        if size and covered == size:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, (size, covered)
        time.sleep(0.02)


def test_entries_written_without_after_write_are_covered(app: Flask, make_org: Any) -> None:
    """Entries another process appended (here: the CLI, which never publishes) get covered."""
    publisher: Publisher = app.extensions["passport.publisher"]
    publisher.start(poll=0.05)
    try:
        make_org("first", "repairer")
        _wait_covered(app, seconds=5)
        make_org("second", "repairer")  # within a second of the last checkpoint: waits its turn
        took = _wait_covered(app, seconds=5)
        assert took < 2, took
    finally:
        publisher.close()


def test_a_write_takes_no_lock_while_no_checkpoint_is_due(
    app: Flask, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher: Publisher = app.extensions["passport.publisher"]
    make_org("maker", "manufacturer")
    publisher.after_write()  # no checkpointer yet: publishes in this thread (the first is due)
    assert _sizes(app)[1] == _sizes(app)[0]
    signed: list[float] = []
    real = module.publish

    def counted(*args: Any, **kwargs: Any) -> Any:
        signed.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "publish", counted)
    publisher.start(poll=0.05)
    try:
        for _ in range(20):  # nothing new: never due, so the lock-taking signer never runs
            publisher.after_write()
            time.sleep(0.01)
        assert signed == []
        make_org("another", "repairer")  # the log grows: due once a second has passed
        _wait_covered(app, seconds=5)
        assert len(signed) == 1
    finally:
        publisher.close()
