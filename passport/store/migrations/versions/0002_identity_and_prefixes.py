"""The instance's identity and the GS1 company prefixes organisations issue under.

- `instance`: one row (id 1), the base URL fixed at `dpp init`. An instance upgraded from
  0.1.0 gets it at its next `dpp init` or `dpp serve`, checked against the DIDs its log holds.
- `org_prefix`: (organisation, prefix) pairs. A 0.1.0 manufacturer has none after the upgrade
  and may issue nothing until the operator registers its prefixes (`dpp org add-prefix`).
- `org_key.revoked_at`: when a key was revoked, filled for keys revoked before the upgrade
  from the time their `key:revoked` entry was logged.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `instance` and `org_prefix`, add `org_key.revoked_at` and fill it from the log."""
    op.create_table(
        "instance",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "org_prefix",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=13), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("org_id", "prefix"),
    )
    with op.batch_alter_table("org_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    revoked = conn.execute(
        sa.text("SELECT entry, created_at FROM ledger_entry WHERE kind = 'key:revoked'")
    ).all()
    for entry, created_at in revoked:
        key_id = json.loads(bytes(entry))["key"]["id"].split("#", 1)[1]
        conn.execute(
            sa.text(
                "UPDATE org_key SET revoked_at = :at WHERE key_id = :key_id AND revoked_at IS NULL"
            ),
            {"at": created_at, "key_id": key_id},
        )


def downgrade() -> None:
    """Drop both tables and the column (0.1.0 knew none of them)."""
    with op.batch_alter_table("org_key", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    op.drop_table("org_prefix")
    op.drop_table("instance")
