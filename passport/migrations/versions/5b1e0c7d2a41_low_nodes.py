"""keep only node hashes of level 4 and up

Subtrees below level 4 are recomputed from at most 16 entries when a proof needs them
(`passport.services.ledger.LOW_LEVELS`), so their stored copies go.

Revision ID: 5b1e0c7d2a41
Revises: 13430d4cb600
Create Date: 2026-11-23 04:40:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "5b1e0c7d2a41"
down_revision = "13430d4cb600"
branch_labels = None
depends_on = None

LOW_LEVELS = 4  # fixed here: a migration must not change when the application's constant does


def upgrade() -> None:
    """Apply this revision."""
    op.execute(f"DELETE FROM ledger_node WHERE level < {LOW_LEVELS}")


def downgrade() -> None:
    """Revert this revision: store levels 0-3 again, recomputed from the entries."""
    conn = op.get_bind()
    node = sa.table(
        "ledger_node", sa.column("level"), sa.column("idx"), sa.column("hash", sa.LargeBinary)
    )
    level: list[bytes] = [
        hashlib.sha256(b"\x00" + bytes(entry)).digest()
        for (entry,) in conn.execute(sa.text("SELECT entry FROM ledger_entry ORDER BY idx"))
    ]
    for height in range(LOW_LEVELS):
        rows = [{"level": height, "idx": i, "hash": digest} for i, digest in enumerate(level)]
        if rows:
            conn.execute(sa.insert(node), rows)
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
