"""Each public credential stored once, inside its ledger entry; restricted ones packed.

- `history_entry.credential` is dropped. It was the exact JCS text inside the entry at
  `ledger_index`; reads and bundles now take it from there (`core.log.kinds.credential_of`).
  On SQLite the table is rebuilt without the column; PostgreSQL reclaims the space at its
  next `VACUUM FULL` of the table.
- `restricted_credential.credential` (JCS text) becomes `packed` (bytes): the same JCS packed
  by `passport.store.packing` (deflate with a fixed dictionary, about 40% of the text).
- `ix_passport_gtin` is dropped: `uq_passport_gtin_serial` starts with the GTIN and serves
  every look-up by GTIN.

Downgrading puts the columns back, filled from the ledger entries and by unpacking.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from passport.store.packing import pack, unpack
from passport.store.sql import stored_bytes

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


def _repack(source: str, target: str, convert: Callable[[object], object]) -> None:
    """Fill `restricted_credential.target` from `source` through `convert`, row by row."""
    conn = op.get_bind()
    table = sa.table(
        "restricted_credential",
        sa.column("passport_id"),
        sa.column("sequence"),
        sa.column("tier"),
        sa.column(source),
        sa.column(target),
    )
    rows = conn.execute(
        sa.select(table.c.passport_id, table.c.sequence, table.c.tier, table.c[source])
    ).all()
    for passport_id, sequence, tier, value in rows:
        conn.execute(
            table.update()
            .where(
                table.c.passport_id == passport_id,
                table.c.sequence == sequence,
                table.c.tier == tier,
            )
            .values({target: convert(value)})
        )


def upgrade() -> None:
    """Drop the second copy of each public credential and the redundant GTIN index; pack the
    restricted credentials."""
    _rebuild_history_entry(lambda batch_op: batch_op.drop_column("credential"))
    with op.batch_alter_table("restricted_credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))
    _repack("credential", "packed", lambda text: pack(str(text).encode()))
    with op.batch_alter_table("restricted_credential", schema=None) as batch_op:
        batch_op.drop_column("credential")
        batch_op.alter_column("packed", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("passport", schema=None) as batch_op:
        batch_op.drop_index("ix_passport_gtin")


def downgrade() -> None:
    """Restore the index and the columns, each credential cut from its ledger entry or
    unpacked."""
    with op.batch_alter_table("restricted_credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
    _repack("packed", "credential", lambda value: unpack(stored_bytes(value)).decode())
    with op.batch_alter_table("restricted_credential", schema=None) as batch_op:
        batch_op.drop_column("packed")
        batch_op.alter_column("credential", existing_type=sa.Text(), nullable=False)
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
