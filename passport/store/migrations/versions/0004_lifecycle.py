"""Lifecycle events: a passport's status and the passport it was remanufactured from.

- `passport.status`: `active`, `superseded` or `end-of-life`, kept in the transaction that
  logs the event changing it. Every passport of an older database is active (no events
  existed before this revision).
- `passport.predecessor_id`: for a passport issued by remanufacture, the passport it
  supersedes (its credential names it; the predecessor's remanufacture event names this one).

Events themselves need no table of their own: each is a row of `history_entry` (no version
number, an `event:…` kind) with its restricted credentials, like a passport version.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `passport.status`, every passport active, and `passport.predecessor_id`."""
    op.add_column(
        "passport",
        sa.Column("status", sa.String(length=20), nullable=False, server_default="active"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its foreign key in place (Alembic would rebuild the table,
        # which the history's foreign keys refuse).
        op.execute(
            "ALTER TABLE passport ADD COLUMN predecessor_id VARCHAR(200) REFERENCES passport (id)"
        )
    else:
        op.add_column("passport", sa.Column("predecessor_id", sa.String(length=200)))
        op.create_foreign_key(None, "passport", "passport", ["predecessor_id"], ["id"])
    op.create_index("ix_passport_predecessor_id", "passport", ["predecessor_id"])


def downgrade() -> None:
    """Drop `passport.status`; refused while the log holds lifecycle events, which 0003 cannot
    serve."""
    events = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM history_entry WHERE kind LIKE 'event:%'")
    )
    if events.scalar():
        raise RuntimeError("the log holds lifecycle events: revision 0003 cannot serve them")
    # SQLite drops a column in place (3.35+): a batch rebuild would drop `passport`, which the
    # history's foreign keys refuse.
    op.drop_index("ix_passport_predecessor_id", table_name="passport")
    op.drop_column("passport", "predecessor_id")
    op.drop_column("passport", "status")
