"""The cross-process writer lock of SQLite: taken by write transactions, let go at their end."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from passport.store.sql import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    made = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return made


def _locked(engine: Engine) -> bool:
    """Whether the writer lock file is held (tried without waiting, as another process would)."""
    fd = os.open(f"{engine.url.database}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # lets go of the lock if it was taken here
    return False


def _second_writer(engine: Engine, order: list[str]) -> threading.Thread:
    def write() -> None:
        conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
        with conn, conn.begin():
            order.append("second began")
            conn.execute(text("INSERT INTO t VALUES (2)"))

    return threading.Thread(target=write)


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_second_writer_waits_for_the_first_to_end(engine: Engine, end: str) -> None:
    order: list[str] = []
    first = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    transaction = first.begin()
    first.execute(text("INSERT INTO t VALUES (1)"))
    assert _locked(engine)
    second = _second_writer(engine, order)
    second.start()
    time.sleep(0.3)
    assert order == [], "the second writer began while the first held the lock"
    order.append(f"first {end}")
    if end == "commit":
        transaction.commit()
    elif end == "rollback":
        transaction.rollback()
    first.close()  # "close" returns the connection mid-transaction: the pool rolls it back
    second.join(timeout=10)
    assert order == [f"first {end}", "second began"]
    assert not _locked(engine), "the lock outlived the transactions"
    with engine.connect() as conn:
        rows = sorted(n for (n,) in conn.execute(text("SELECT n FROM t")))
    assert rows == ([1, 2] if end == "commit" else [2])


def test_readers_take_no_lock(engine: Engine) -> None:
    writer = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    transaction = writer.begin()
    assert _locked(engine)
    with engine.connect() as reader:  # a plain transaction reads beside the writer
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    transaction.rollback()
    writer.close()
    assert not _locked(engine)
    with engine.connect() as reader, reader.begin():
        reader.execute(text("SELECT count(*) FROM t"))
        assert not _locked(engine)
