"""The schema of release 0.1.0: organisations, keys, tokens, passports, the ledger.

Revision ID: 0001
Revises: (none: the first revision)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of release 0.1.0 and the ledger's lock row.

    One long function on purpose: it is the schema, table after table, as Alembic generated
    it from `passport.store.tables` (a test checks the two agree); split, it would read worse.
    """
    op.create_table(
        "checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "ledger_entry",
        sa.Column(
            "idx",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("passport_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx"),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The sequencer's single lock row: every append takes it and advances the size.
    op.execute("INSERT INTO ledger_head (id, size) VALUES (1, 0)")
    op.create_table(
        "ledger_tile",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("province", sa.String(length=100), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_slug"), ["slug"], unique=True)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_org_id"), ["org_id"], unique=False)

    op.create_table(
        "idempotency",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("org_id", "key"),
    )
    op.create_table(
        "org_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    with op.batch_alter_table("org_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_key_org_id"), ["org_id"], unique=False)

    op.create_table(
        "org_role",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("org_id", "role"),
    )
    op.create_table(
        "passport",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("variant", sa.String(length=20), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("serial", sa.String(length=20), nullable=True),
        sa.Column("granularity", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gtin", "serial", name="uq_passport_gtin_serial"),
    )
    with op.batch_alter_table("passport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passport_gtin"), ["gtin"], unique=False)
        batch_op.create_index(batch_op.f("ix_passport_org_id"), ["org_id"], unique=False)

    op.create_table(
        "history_entry",
        sa.Column("passport_id", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["passport_id"],
            ["passport.id"],
        ),
        sa.PrimaryKeyConstraint("passport_id", "sequence"),
        sa.UniqueConstraint("ledger_index", name="uq_history_entry_ledger_index"),
    )
    op.create_table(
        "restricted_credential",
        sa.Column("passport_id", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["passport_id", "sequence"],
            ["history_entry.passport_id", "history_entry.sequence"],
        ),
        sa.PrimaryKeyConstraint("passport_id", "sequence", "tier"),
    )


def downgrade() -> None:
    """Drop every table (a database before 0.1.0 held nothing)."""
    op.drop_table("restricted_credential")
    op.drop_table("history_entry")
    with op.batch_alter_table("passport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passport_org_id"))
        batch_op.drop_index(batch_op.f("ix_passport_gtin"))

    op.drop_table("passport")
    op.drop_table("org_role")
    with op.batch_alter_table("org_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_key_org_id"))

    op.drop_table("org_key")
    op.drop_table("idempotency")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_org_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_slug"))

    op.drop_table("organisation")
    op.drop_table("ledger_tile")
    op.drop_table("ledger_head")
    op.drop_table("ledger_entry")
    op.drop_table("checkpoint")
