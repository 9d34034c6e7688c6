"""Status-list indices: each new passport version gets its own place in its issuer's lists.

The index is in the signed credential, so it is handed out before signing, outside the write
transaction. A process reserves a block of indices per organisation in one short transaction of
its own (`status_counter`) and hands them out from memory; indices a process never used (it
stopped, or a write failed after signing) stay unused, which is harmless: no credential points
at them. Many processes on one database each reserve their own blocks, so no index is given
twice.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlmodel import Session

from passport.services.ledger.log import begin_write
from passport.store.sql import driver_query

BLOCK = 256


class StatusIndices:
    """Hands out status-list indices per organisation from blocks reserved in the database."""

    def __init__(self, engine: Engine, *, block: int = BLOCK) -> None:
        self._engine = engine
        self._block = block
        self._lock = threading.Lock()
        self._free: dict[int, range] = {}

    def take(self, org_id: int, count: int) -> list[int]:
        """Return `count` indices no other credential of `org_id` has or will have."""
        taken: list[int] = []
        with self._lock:
            while len(taken) < count:
                free = self._free.get(org_id) or self._reserve(org_id, count - len(taken))
                used = min(len(free), count - len(taken))
                taken += free[:used]
                self._free[org_id] = free[used:]
        return taken

    def _reserve(self, org_id: int, wanted: int) -> range:
        size = max(self._block, wanted)
        with Session(self._engine) as sess:
            begin_write(sess)
            conn = sess.connection()
            driver_query(
                conn,
                "INSERT INTO status_counter (org_id, next_index) VALUES (?, 0)"
                " ON CONFLICT (org_id) DO NOTHING",
                (org_id,),
            )
            driver_query(
                conn,
                "UPDATE status_counter SET next_index = next_index + ? WHERE org_id = ?",
                (size, org_id),
            )
            [(end,)] = driver_query(
                conn, "SELECT next_index FROM status_counter WHERE org_id = ?", (org_id,)
            )
            sess.commit()
        return range(end - size, end)
