"""ledger tiles: node hashes 30 to a row (`passport.core.tiles`) instead of one row each

A proof read one row per stored node (levels 4 and up) and the 16 leaf hashes of a block of
entries, then hashed the low subtrees again: about 20 rows and 11 hashes at 10^4 entries. From
tiles of height 4 that keep their inner levels it reads one row per 4 levels and hashes
nothing. The leaf-hash index proofs read from goes: the tiles hold the leaf hashes. The tiles
are built here from the stored leaf hashes, streaming, in O(log n) memory.

Revision ID: b7d4e2a9c310
Revises: a3c5e8f2d146
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from passport.core import tiles

revision = "b7d4e2a9c310"
down_revision = "a3c5e8f2d146"
branch_labels = None
depends_on = None

_CHUNK = 10_000
# This revision writes tiles of this shape; a later change of shape needs its own revision.
assert tiles.HEIGHT == 4


def _insert(table: sa.TableClause, rows: list[dict[str, object]]) -> None:
    if rows:
        op.get_bind().execute(sa.insert(table), rows)
        rows.clear()


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ledger_tile",
        sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    tile = sa.table(
        "ledger_tile",
        sa.column("level"),
        sa.column("idx"),
        sa.column("width"),
        sa.column("hashes", sa.LargeBinary),
    )
    # stream_results: a server-side cursor on PostgreSQL, whose driver would otherwise fetch
    # every row at once (sqlite3 reads row by row anyway).
    read = sa.text("SELECT leaf_hash FROM ledger_entry ORDER BY idx")
    leaves = op.get_bind().execute(read.execution_options(stream_results=True))
    rows: list[dict[str, object]] = []
    for (t, index), width, data in tiles.tiles_from_leaves(bytes(r[0]) for r in leaves):
        rows.append({"level": t, "idx": index, "width": width, "hashes": data})
        if len(rows) == _CHUNK:
            _insert(tile, rows)
    _insert(tile, rows)
    op.drop_index("ix_ledger_entry_leaf", table_name="ledger_entry")
    op.drop_table("ledger_node")


def downgrade() -> None:
    """Revert this revision: one row per node of level 4 and up, taken from the tiles."""
    op.create_table(
        "ledger_node",
        sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
        sqlite_with_rowid=False,
    )
    node = sa.table(
        "ledger_node", sa.column("level"), sa.column("idx"), sa.column("hash", sa.LargeBinary)
    )
    stored = op.get_bind().execute(
        sa.text("SELECT level, idx, width, hashes FROM ledger_tile WHERE level > 0")
    )
    rows: list[dict[str, object]] = []
    for t, index, width, data in stored:
        for (level, at), digest in tiles.unpack((t, index), width, bytes(data)).items():
            rows.append({"level": level, "idx": at, "hash": digest})
        if len(rows) >= _CHUNK:
            _insert(node, rows)
    _insert(node, rows)
    op.create_index("ix_ledger_entry_leaf", "ledger_entry", ["idx", "leaf_hash"])
    op.drop_table("ledger_tile")
