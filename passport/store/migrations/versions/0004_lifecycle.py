"""Lifecycle events: a passport's status.

- `passport.status`: `active`, `superseded` or `end-of-life`, kept in the transaction that
  logs the event changing it. Every passport of an older database is active (no events
  existed before this revision).

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
    """Add `passport.status`, every passport active."""
    op.add_column(
        "passport",
        sa.Column("status", sa.String(length=20), nullable=False, server_default="active"),
    )


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
    op.drop_column("passport", "status")
