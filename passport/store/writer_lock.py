"""One SQLite writer at a time across processes, woken the moment the last one commits.

SQLite lets one transaction write at a time. A process that finds the write lock taken waits in
SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10, ... up to 100 ms) and checks
again: with two gunicorn workers (and the checkpointer in each) writing in turns, much of a
single write's time went to those sleeps. A write transaction (`BEGIN IMMEDIATE`) therefore
first takes an exclusive `flock` on a file beside the database, `{database}-writer.lock`, and
lets it go once the transaction has committed or rolled back. The kernel hands the lock over
at once, so SQLite's own lock is free whenever it is asked for. The lock file holds nothing; a
crashed holder's lock goes with its process.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine

# Descriptors holding the lock, by the id of the driver connection whose transaction holds it.
# A dict keyed by id, not by the connection: sqlite3 connections take no weak references, and
# every way a transaction ends (commit, rollback, the pool's reset or close) pops its entry.
_held: dict[int, int] = {}


def install(engine: Engine, database: str | None) -> str | None:
    """Return the lock file's path for `engine`'s database (None for one in memory), and let
    the lock go after every commit and rollback and when a connection is closed."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _release(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _release(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    event.listen(engine.pool, "close", lambda dbapi_connection, _record: _release(dbapi_connection))
    return os.path.abspath(database) + "-writer.lock"


def acquire(connection: Connection, path: str) -> None:
    """Wait for the writer lock at `path` for the transaction `connection` is beginning."""
    key = _key(connection.connection)
    if key in _held:
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks with the GIL released
    except BaseException:
        os.close(fd)
        raise
    _held[key] = fd


def _key(connection: Any) -> int:
    """The driver connection's id, whether given it or the pool's proxy of it (SQLAlchemy
    commits and rolls back through the proxy; the pool closes the driver's connection)."""
    return id(getattr(connection, "dbapi_connection", connection))


def _release(connection: Any) -> None:
    fd = _held.pop(_key(connection), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor lets its flock go
