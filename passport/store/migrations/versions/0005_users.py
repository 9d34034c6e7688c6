"""People who sign in, and the sign-in throttle.

- `user_account`: a person of one organisation, by lower-cased email address, with the argon2id
  hash of their password (`passport.services.orgs.users`); `disabled` keeps them out;
  `session_epoch` ends their sessions when raised (at sign-out).
- `login_throttle`: recent failed sign-ins per key (`email:<address>`, `source:<client>`), in
  the database so that every worker process counts the same failures.

Downgrading drops both tables, and with them every user account.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index("ix_user_account_org_id", "user_account", ["org_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Drop them, user accounts and all."""
    op.drop_table("login_throttle")
    op.drop_index("ix_user_account_org_id", table_name="user_account")
    op.drop_table("user_account")
