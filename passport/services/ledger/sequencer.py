"""Group commit: writes from concurrent requests share one transaction, flushed at N or T ms.

The batch takes the ledger's lock row once and commits once; the lock row still orders
batches from other processes and hosts. One job's conflict fails only that job: the jobs run
together in one SAVEPOINT, and if one fails, again with each in its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from passport.core.errors import Conflict, PassportError
from passport.services.ledger.log import begin_write

T = TypeVar("T")
# A job's own failure: it is reported to its caller, and the rest of its batch still commits.
_JOB_ERRORS = (IntegrityError, PassportError, ValueError)
Job = Callable[[Session], Any]


@dataclass
class _Pending:
    job: Job
    entries: int
    conflict: str
    future: Future[Any] = field(default_factory=Future)


class Sequencer:
    """Collects write jobs and commits them in batches: at `max_entries` or `max_wait` seconds.

    A batch also closes as soon as as many jobs wait as the last batch held plus those that
    came while it was committing: callers answered together usually come back together, so
    waiting out `max_wait` for more would only idle, and closing sooner would split them into
    two groups that each pay for a commit. Fewer callers cost one wait until the deadline.
    """

    def __init__(self, engine: Engine, *, max_entries: int = 2000, max_wait: float = 0.001) -> None:
        self._engine = engine
        self._max_entries = max_entries
        self._max_wait = max_wait
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Jobs to wait for: the last batch's plus those that came while it committed. The
        # first batch waits out max_wait.
        self._expected = max_entries
        self.batches = 0  # committed transactions, for tests and metrics

    def run(self, job: Callable[[Session], T], *, entries: int, conflict: str) -> T:
        """Run `job` in the next batch and return its result (or raise its error)."""
        pending = _Pending(job, entries, conflict)
        with self._cond:
            if self._closed:
                raise RuntimeError("the sequencer is closed")
            self._queue.append(pending)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="sequencer")
                self._thread.start()
            self._cond.notify_all()
        result: T = pending.future.result()
        return result

    def close(self) -> None:
        """Let the flusher thread finish what is queued and stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _take(self) -> list[_Pending]:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return []
                self._cond.wait()
            deadline = time.monotonic() + self._max_wait
            while (
                len(self._queue) < self._expected
                and sum(p.entries for p in self._queue) < self._max_entries
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch: list[_Pending] = []
            size = 0
            while self._queue and (not batch or size + self._queue[0].entries <= self._max_entries):
                pending = self._queue.pop(0)
                batch.append(pending)
                size += pending.entries
            return batch

    def _loop(self) -> None:
        while batch := self._take():
            self._flush(batch)

    def _flush(self, batch: list[_Pending]) -> None:
        outcomes = self._commit(batch)
        with self._cond:  # before any caller of this batch is answered and comes back
            self._expected = len(batch) + len(self._queue)
        for pending, (value, error) in zip(batch, outcomes, strict=True):
            if error is None:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(error)

    def _commit(self, batch: list[_Pending]) -> list[tuple[Any, BaseException | None]]:
        """Run the batch's jobs in one transaction; return each job's (result, error).

        Optimistic: the jobs first run together in one savepoint, since a savepoint costs about
        as much as a one-entry job. If one fails, that savepoint is rolled back and the jobs
        run again, each in its own, so only the failing job fails. The transaction, and with it
        the ledger's lock, is held throughout. Jobs write only through the session they are
        given, so running one again is safe.
        """
        try:
            with Session(self._engine, expire_on_commit=False) as sess:
                begin_write(sess)
                values, failed = self._in_savepoint(
                    sess, lambda s: [pending.job(s) for pending in batch], conflict=""
                )
                outcomes: list[tuple[Any, BaseException | None]]
                if failed is None:
                    outcomes = [(value, None) for value in values]
                else:  # an outcome, not an exception: no job's error chained to another's
                    outcomes = [
                        self._in_savepoint(sess, pending.job, pending.conflict) for pending in batch
                    ]
                sess.commit()
                self.batches += 1
        except Exception as exc:  # the batch did not commit: every job in it failed
            return [(None, exc)] * len(batch)
        return outcomes

    @staticmethod
    def _in_savepoint(sess: Session, job: Job, conflict: str) -> tuple[Any, BaseException | None]:
        """Run `job` in a savepoint; return (its result, None) or, rolled back, (None, error)."""
        savepoint = sess.begin_nested()
        try:
            value = job(sess)
            savepoint.commit()  # flushes: a conflict of a row the job added to the session, here
            return value, None
        except IntegrityError:
            savepoint.rollback()
            return None, Conflict(conflict)
        except _JOB_ERRORS as exc:
            savepoint.rollback()
            return None, exc
