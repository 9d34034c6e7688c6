"""ledger entries: store each entry's leaf hash beside its bytes

A proof recomputes the subtrees below the stored node levels from up to 16 leaves. Reading
their 32-byte hashes instead of the entries (a few KB each for a passport) halves what a proof
costs; `dpp audit` checks every stored leaf hash against its entry.

Revision ID: 8e3f1a6c9b27
Revises: 7c2d9e4f1b30
Create Date: 2026-11-23 09:50:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "8e3f1a6c9b27"
down_revision = "7c2d9e4f1b30"
branch_labels = None
depends_on = None

CHUNK = 10_000


def upgrade() -> None:
    """Apply this revision: add the column, fill it from the entries, then require it."""
    op.add_column("ledger_entry", sa.Column("leaf_hash", sa.LargeBinary(32), nullable=True))
    conn = op.get_bind()
    size = conn.execute(sa.text("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entry")).scalar_one()
    update = sa.text("UPDATE ledger_entry SET leaf_hash = :h WHERE idx = :i")
    for start in range(0, size, CHUNK):
        rows = conn.execute(
            sa.text("SELECT idx, entry FROM ledger_entry WHERE idx >= :a AND idx < :b"),
            {"a": start, "b": start + CHUNK},
        ).all()
        hashes = [
            {"i": idx, "h": hashlib.sha256(b"\x00" + bytes(entry)).digest()} for idx, entry in rows
        ]
        if hashes:
            conn.execute(update, hashes)
    with op.batch_alter_table("ledger_entry") as batch_op:
        batch_op.alter_column("leaf_hash", existing_type=sa.LargeBinary(32), nullable=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ledger_entry") as batch_op:
        batch_op.drop_column("leaf_hash")
