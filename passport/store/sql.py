"""Engines and direct driver statements; SQLite runs in WAL mode with foreign keys on. No Flask."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import create_engine

from passport.store import writer_lock

# Prepared statements kept per connection (sqlite3's default is 128, psycopg's 100): the
# service's statements with room to spare (proofs use one text per count of tiles they read,
# at most 16; before tiles, up to ~90 on a log of 10^7 entries).
_PREPARED = 512
# SQLite's page cache per connection, in KiB (its default is 2 MiB). Proofs on a log of 10^6
# entries touch pages all over the tree's storage; with 2 MiB the upper B-tree pages kept being
# evicted and read again. Measured on warmed connections, the sizes taking turns: proof p50 at
# 10^6 79-84 -> 77-79 µs, unchanged at 10^4 (with node rows, before tiles). The cache only
# fills with pages a connection reads.
_SQLITE_CACHE_KIB = 16384
# The WAL is truncated to this size whenever a checkpoint resets it (SQLite's default keeps the
# file at its largest: 451 MB was seen under load); `truncate_wal` also resets it periodically,
# since under a steady stream of readers an automatic checkpoint may never reach the end.
WAL_LIMIT_BYTES = 64 * 1024 * 1024


def make_engine(url: str) -> Engine:
    """Build an engine for `url`; postgresql:// URLs use psycopg 3."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgresql+psycopg:") and importlib.util.find_spec("psycopg") is None:
        raise RuntimeError(
            "DATABASE_URL names PostgreSQL but its driver is not installed: "
            "pip install 'passport-ledger[postgres]'"
        )
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "cached_statements": _PREPARED,
            },
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that
        # `BEGIN IMMEDIATE` can be requested where a writer must hold the lock up front, after
        # the cross-process writer lock (`writer_lock`).
        lock = writer_lock.install(engine, engine.url.database)
        event.listen(engine, "begin", functools.partial(_sqlite_begin, lock))
    else:
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "connect", _psycopg_prepared)
    _driver_savepoints(engine.dialect)
    return engine


def truncate_wal(engine: Engine) -> None:
    """On SQLite, copy the WAL into the database and truncate it to zero bytes (when no reader
    holds an old snapshot; otherwise as far as they allow). Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        _on_driver(conn, "PRAGMA wal_checkpoint(TRUNCATE)")


def driver_query(
    conn: Connection,
    sql: str,
    params: Sequence[Any] = (),
    *,
    many: bool = False,
    rowcount: bool = False,
) -> Any:
    """Run one statement on the DB-API cursor, in `conn`'s transaction; return its rows (with
    `rowcount`: how many rows it changed).

    For the few statements on the write and proof paths that run per request: through the
    driver they cost a few µs, through SQLAlchemy's execution machinery about 20 µs each.
    `sql` marks parameters with `?` and holds no `%` (psycopg reads it as a placeholder).
    Statements of a fixed text are prepared once by the driver (sqlite3's statement cache,
    psycopg's prepared statements) and reused.
    """
    if conn.dialect.paramstyle != "qmark":
        if "%" in sql:
            raise ValueError("driver_query: '%' in SQL would be read as a placeholder")
        sql = sql.replace("?", "%s")
    return _on_driver(conn, sql, params, many=many, rowcount=rowcount)


def stored_bytes(value: object) -> bytes:
    """Return a BLOB (bytea) column's value as bytes, and anything else as b"".

    A tampered SQLite database may hold TEXT or a number where a hash belongs: that must read
    as malformed (refused, or named by the audit), not raise TypeError or, for bytes(n) of a
    large integer, allocate n bytes.
    """
    return bytes(value) if isinstance(value, bytes | memoryview) else b""


def _on_driver(
    conn: Connection,
    sql: str,
    params: Sequence[Any] = (),
    *,
    many: bool = False,
    rowcount: bool = False,
) -> Any:
    """Execute on a driver cursor; driver errors come out as SQLAlchemy's, as from `execute`.

    Callers (the publisher after a committed write, the sequencer, the error handlers) tell
    database failures by SQLAlchemy's exception classes; a lost connection is invalidated so
    the pool does not hand it out again.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        if rowcount:
            return cursor.rowcount
        return cursor.fetchall() if cursor.description else []
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            params,
            exc,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
            ismulti=many,
        ) from exc
    finally:
        cursor.close()


def _driver_savepoints(dialect: Dialect) -> None:
    """Emit SAVEPOINT, RELEASE and ROLLBACK TO straight to the driver.

    The sequencer takes one savepoint per request. SQLAlchemy compiles each savepoint
    statement anew (measured ~80 µs a statement, most of a request's share of a batch); the
    names are its own (`sa_savepoint_N`), so the SQL is the same as it would compile.
    """

    def savepoint(connection: Connection, name: str) -> None:
        _on_driver(connection, f"SAVEPOINT {name}")

    def release(connection: Connection, name: str) -> None:
        _on_driver(connection, f"RELEASE SAVEPOINT {name}")

    def rollback_to(connection: Connection, name: str) -> None:
        _on_driver(connection, f"ROLLBACK TO SAVEPOINT {name}")

    dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = release  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = rollback_to  # type: ignore[method-assign]


def _psycopg_prepared(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.prepared_max = _PREPARED


_SQLITE_PAGE_BYTES = 16384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Takes effect only on a new, empty database (an existing one keeps its page size). Rows
    # of 1.5-3 KB (credentials, ledger entries) leave a quarter of each 4 KB page empty; in
    # 16 KB pages five fit where four would in four pages (docs/benchmarks.md, storage).
    cursor.execute(f"PRAGMA page_size={_SQLITE_PAGE_BYTES}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    # FULL makes each commit durable against power loss, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
    cursor.close()


def _sqlite_begin(lock: str | None, connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "")
    if mode == "IMMEDIATE" and lock is not None:
        writer_lock.acquire(connection, lock)
    _on_driver(connection, f"BEGIN {mode}".strip())  # every transaction: skip SQLAlchemy's ~20 µs
