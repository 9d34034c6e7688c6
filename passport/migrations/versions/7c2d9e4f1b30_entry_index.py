"""ledger entries: drop an unused index; on SQLite, key them by the rowid

No query looks entries up by passport (the history rows name their ledger_index), and the
index cost every append an extra B-tree insert. On SQLite a BIGINT primary key is a second
B-tree beside the table's rowid; an INTEGER primary key is the rowid itself (same 64 bits).

Revision ID: 7c2d9e4f1b30
Revises: 5b1e0c7d2a41
Create Date: 2026-11-23 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c2d9e4f1b30"
down_revision = "5b1e0c7d2a41"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_passport_id"))
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger_entry", recreate="always") as batch_op:
            batch_op.alter_column("idx", existing_type=sa.BigInteger(), type_=sa.Integer())


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger_entry", recreate="always") as batch_op:
            batch_op.alter_column("idx", existing_type=sa.Integer(), type_=sa.BigInteger())
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_passport_id"), ["passport_id"], unique=False
        )
