"""Keep checkpoints fresh: after each write, and at most once a second while the log grows."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from passport.core.errors import LedgerInconsistent, PassportError
from passport.services.ledger.checkpoints import MIN_INTERVAL, Published, publish
from passport.services.ledger.logkey import LogKey, load_log_key

log = logging.getLogger(__name__)


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

    @property
    def key(self) -> LogKey:
        """Return the log key, loaded on first use (`dpp init` creates it)."""
        if self._key is None:
            self._key = load_log_key(self.keys_dir, self.passphrase, self.base_url)
        return self._key

    def after_write(self) -> None:
        """Publish now if a second has passed, else once it has (so the tail gets covered).

        The write is already committed, so a failure here is logged, not answered with an
        error: the entries wait for a checkpoint that an operator must unblock.
        """
        try:
            if publish(self.engine, self.key, self.keys_dir, at=_now()) is None:
                self._schedule()
        except (PassportError, SQLAlchemyError):
            log.exception("checkpoint not signed; the log needs attention (run `dpp audit`)")

    def _schedule(self) -> None:
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
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
        """Cancel a pending background checkpoint (at shutdown)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer.join()

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
