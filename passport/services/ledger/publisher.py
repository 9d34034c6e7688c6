"""Keep checkpoints fresh: every entry is covered within about two seconds of its append.

Each serving process runs a checkpointer thread (`Publisher.start`, started by `dpp serve` in
every gunicorn worker). It wakes when its own process wrote, and otherwise every POLL seconds,
so entries appended by any process (other workers, `dpp import`, another host) are covered
too, and so is a log that is not empty when the service starts. Deciding whether a checkpoint is
due takes two reads and no lock; only a due checkpoint takes the signer's file lock and the
log's write lock. Without a running checkpointer (tests, scripts), `after_write` publishes in
the caller's thread when due and sets a timer for the tail, as the one writer there is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from passport.core.errors import LedgerInconsistent, PassportError
from passport.services.ledger.checkpoints import MIN_INTERVAL, Published, due, publish
from passport.services.ledger.logkey import LogKey, load_log_key
from passport.store.sql import truncate_wal

log = logging.getLogger(__name__)
POLL = 0.5  # seconds between looks at the log: coverage within POLL + MIN_INTERVAL + signing
WAL_EVERY = 60.0  # seconds between truncations of SQLite's write-ahead log (see truncate_wal)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Publisher:
    """Signs checkpoints for one app (one per gunicorn worker); the DB keeps workers in step."""

    engine: Engine
    keys_dir: Path
    passphrase: bytes
    base_url: str
    _key: LogKey | None = field(default=None, init=False)
    _timer: threading.Timer | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _closed: bool = field(default=False, init=False)

    @property
    def key(self) -> LogKey:
        """Return the log key, loaded on first use (`dpp init` creates it)."""
        if self._key is None:
            self._key = load_log_key(self.keys_dir, self.passphrase, self.base_url)
        return self._key

    def start(self, *, poll: float = POLL) -> None:
        """Run the checkpointer thread of this process (once; `close` stops it)."""
        with self._lock:
            if self._thread is not None:
                return
            self._closed = False
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, args=(poll,), name="checkpointer", daemon=True
            )
            self._thread.start()

    def after_write(self) -> None:
        """Say the log grew: wake the checkpointer, or without one publish now if due.

        The write is already committed, so a failure here is logged, not answered with an
        error: the entries wait for a checkpoint that an operator must unblock.
        """
        if self._thread is not None:
            self._wake.set()  # the request path takes no lock and reads nothing
            return
        try:
            if publish(self.engine, self.key, self.keys_dir, at=_now()) is None:
                self._schedule()
        except (PassportError, SQLAlchemyError):
            log.exception("checkpoint not signed; the log needs attention (run `dpp audit`)")

    def publish_if_due(self) -> Published | None:
        """Sign a checkpoint if one is due (see `checkpoints.due`); return it, or None."""
        with Session(self.engine) as sess:
            if not due(sess, at=_now()):
                return None
        return publish(self.engine, self.key, self.keys_dir, at=_now())

    def _run(self, poll: float) -> None:
        wal_due = time.monotonic() + WAL_EVERY
        while not self._stop.is_set():
            try:
                self.publish_if_due()
                if time.monotonic() >= wal_due:  # the log's storage, kept bounded here too
                    wal_due = time.monotonic() + WAL_EVERY
                    truncate_wal(self.engine)
            except (PassportError, SQLAlchemyError):
                log.exception("checkpoint not signed; the log needs attention (run `dpp audit`)")
            except Exception:  # the thread must log and go on, not die unseen
                log.exception("checkpointer failed; retrying")
            self._wake.wait(poll)
            self._wake.clear()

    def _schedule(self) -> None:
        with self._lock:
            if self._closed or (self._timer is not None and self._timer.is_alive()):
                return
            self._timer = threading.Timer(MIN_INTERVAL.total_seconds(), self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        try:
            self.after_write()
        except Exception:  # a timer thread must log, not die with a traceback nobody reads
            log.exception("background checkpoint failed")

    def close(self) -> None:
        """Stop the checkpointer and cancel a pending timer (at shutdown)."""
        with self._lock:
            thread, self._thread = self._thread, None
            timer, self._timer = self._timer, None
            self._closed = True
        # Joined outside the lock: a firing timer takes it to schedule the next one.
        if timer is not None:
            timer.cancel()
            timer.join()
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join()

    def covering(self, index: int, *, timeout: float = 10.0) -> Published:
        """Return a checkpoint that includes entry `index`, waiting out the rate limit."""
        deadline = time.monotonic() + timeout
        while True:
            published = publish(self.engine, self.key, self.keys_dir, at=_now())
            if published is not None and published.size > index:
                return published
            if time.monotonic() > deadline:
                raise LedgerInconsistent(f"no checkpoint covers entry {index} after {timeout} s")
            time.sleep(0.05)
