"""Each public credential stored once: inside its ledger entry, not beside it again.

- `history_entry.credential` is dropped. It was the exact JCS text inside the entry at
  `ledger_index`; reads and bundles now take it from there (`core.log.kinds.credential_of`).
  On SQLite the table is rebuilt without the column; PostgreSQL reclaims the space at its
  next `VACUUM FULL` of the table.
- `ix_passport_gtin` is dropped: `uq_passport_gtin_serial` starts with the GTIN and serves
  every look-up by GTIN.

Downgrading puts the column back, filled from the ledger entries.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_HEAD = len(b'{"credential":')


def _rebuild_history_entry(change: Callable[[BatchOperations], None]) -> None:
    """Apply `change` to `history_entry`.

    SQLite changes a table by rebuilding it (copy, drop, rename), and dropping `history_entry`
    would orphan every `restricted_credential` row, a foreign-key violation. So, on SQLite,
    those rows wait in a temporary table while the parent is rebuilt, and come back after.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE restricted_waiting AS SELECT * FROM restricted_credential")
        op.execute("DELETE FROM restricted_credential")
    with op.batch_alter_table("history_entry", schema=None) as batch_op:
        change(batch_op)
    if sqlite:
        op.execute("INSERT INTO restricted_credential SELECT * FROM restricted_waiting")
        op.execute("DROP TABLE restricted_waiting")


def upgrade() -> None:
    """Drop the second copy of each public credential and the redundant GTIN index."""
    _rebuild_history_entry(lambda batch_op: batch_op.drop_column("credential"))
    with op.batch_alter_table("passport", schema=None) as batch_op:
        batch_op.drop_index("ix_passport_gtin")


def downgrade() -> None:
    """Restore the index and the column, each credential cut from its ledger entry."""
    with op.batch_alter_table("passport", schema=None) as batch_op:
        batch_op.create_index("ix_passport_gtin", ["gtin"], unique=False)
    with op.batch_alter_table("history_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT h.passport_id, h.sequence, h.kind, e.entry FROM history_entry h"
            " JOIN ledger_entry e ON e.idx = h.ledger_index"
        )
    ).all()
    for passport_id, sequence, kind, entry in rows:
        tail = len(b',"kind":"' + kind.encode() + b'","v":1}')
        conn.execute(
            sa.text(
                "UPDATE history_entry SET credential = :c WHERE passport_id = :p AND sequence = :s"
            ),
            {"c": bytes(entry)[_HEAD:-tail].decode(), "p": passport_id, "s": sequence},
        )
    _rebuild_history_entry(
        lambda batch_op: batch_op.alter_column(
            "credential", existing_type=sa.Text(), nullable=False
        )
    )
