"""SQLite's write-ahead log stays bounded: a size limit, and a periodic truncation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from passport.store.sql import WAL_LIMIT_BYTES, make_engine, truncate_wal


def test_the_wal_is_limited_and_truncated(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    wal = tmp_path / "wal.db-wal"
    try:
        with engine.begin() as conn:
            limit = conn.execute(text("PRAGMA journal_size_limit")).scalar_one()
            conn.execute(text("CREATE TABLE t (x BLOB)"))
        assert limit == WAL_LIMIT_BYTES
        reader = engine.connect()  # an open snapshot keeps automatic checkpoints from resetting
        reader.begin()
        reader.execute(text("SELECT COUNT(*) FROM t")).scalar_one()
        for _ in range(200):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (randomblob(16384))"))
        assert wal.stat().st_size > 2 * 1024 * 1024
        reader.close()
        truncate_wal(engine)
        assert wal.stat().st_size == 0
    finally:
        engine.dispose()
