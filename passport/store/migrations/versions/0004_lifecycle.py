"""Lifecycle events: a passport's status and the passport it was remanufactured from.

- `passport.status`: `active`, `superseded` or `end-of-life`, kept in the transaction that
  logs the event changing it. Every passport of an older database is active (no events
  existed before this revision).
- `passport.predecessor_id`: for a passport issued by remanufacture, the passport it
  supersedes (its credential names it; the predecessor's remanufacture event names this one).
- `material_lot`: lots produced by recorded recycling, with their mass and the grams claimed
  from them (a CHECK keeps the claims within the mass).
- `lot_claim`: the grams of each lot a passport version claims as recycled content.
- `history_entry.org_id`: the organisation that signed the entry (the actor of an event),
  filled for older rows from their passport's issuer (every row was a version of it).
- `history_entry.status_index` and `status_counter`: each new version's place in its issuer's
  Bitstring Status Lists, reserved in blocks per organisation. Versions issued before this
  revision have none; versions whose logged credential names a place (a database brought
  down to 0003 and up again) get it back, and the counters start past them.
- `instance.claims_from`: the log's size at this upgrade. Recycled content logged before it
  was never drawn from recorded lots; `dpp audit` checks lot balances from there on.

Events themselves need no table of their own: each is a row of `history_entry` (no version
number, an `event:…` kind) with its restricted credentials, like a passport version.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# Entries per status list (`passport.core.lifecycle.status.CAPACITY`, as of this revision).
_CAPACITY = 131_072


def upgrade() -> None:
    """Add the columns and tables above, filled from what the database holds."""
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
    _create_lots()
    if op.get_bind().dialect.name == "sqlite":  # in place: a rebuild would break foreign keys
        op.execute(
            "ALTER TABLE history_entry ADD COLUMN org_id INTEGER REFERENCES organisation (id)"
        )
    else:
        op.add_column("history_entry", sa.Column("org_id", sa.Integer()))
        op.create_foreign_key(None, "history_entry", "organisation", ["org_id"], ["id"])
    op.create_index("ix_history_entry_org_id", "history_entry", ["org_id"])
    op.execute(
        "UPDATE history_entry SET org_id ="
        " (SELECT org_id FROM passport WHERE passport.id = history_entry.passport_id)"
    )
    op.add_column("history_entry", sa.Column("status_index", sa.BigInteger(), nullable=True))
    op.create_index("ix_history_entry_status_index", "history_entry", ["status_index"])
    _status_counter()
    _restore_status_places()
    op.add_column(
        "instance", sa.Column("claims_from", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.execute(
        "UPDATE instance SET claims_from = COALESCE((SELECT size FROM ledger_head WHERE id = 1), 0)"
    )


def _status_counter() -> None:
    op.create_table(
        "status_counter",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("org_id"),
    )


def _restore_status_places() -> None:
    """Give back the places logged credentials name, and start each counter past them."""
    bind = op.get_bind()
    # Streamed (a server-side cursor on PostgreSQL): a log may hold millions of versions.
    rows = bind.execute(
        sa.text(
            "SELECT h.passport_id, h.sequence, e.entry FROM history_entry h"
            " JOIN ledger_entry e ON e.idx = h.ledger_index WHERE h.version IS NOT NULL"
        ).execution_options(yield_per=2000)
    )
    places = []
    for passport_id, sequence, entry in rows:
        if b'"credentialStatus"' not in bytes(entry):
            continue
        status = json.loads(bytes(entry))["credential"]["credentialStatus"]
        number = int(str(status["statusListCredential"]).rsplit("/", 1)[1])
        index = number * _CAPACITY + int(status["statusListIndex"])
        places.append({"p": passport_id, "s": sequence, "i": index})
    if places:
        bind.execute(
            sa.text(
                "UPDATE history_entry SET status_index = :i"
                " WHERE passport_id = :p AND sequence = :s"
            ),
            places,
        )
    bind.execute(
        sa.text(
            "INSERT INTO status_counter (org_id, next_index) SELECT org_id, MAX(status_index) + 1"
            " FROM history_entry WHERE status_index IS NOT NULL GROUP BY org_id"
        )
    )


def _create_lots() -> None:
    op.create_table(
        "material_lot",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("material", sa.String(length=60), nullable=False),
        sa.Column("mass_g", sa.BigInteger(), nullable=False),
        sa.Column("claimed_g", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("batch", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "claimed_g >= 0 AND claimed_g <= mass_g", name="ck_material_lot_claimed"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gtin", "lot", name="uq_material_lot_gtin_lot"),
        sa.UniqueConstraint("ledger_index"),
    )
    op.create_index("ix_material_lot_org_id", "material_lot", ["org_id"])
    op.create_index("ix_material_lot_batch", "material_lot", ["batch"])
    op.create_table(
        "lot_claim",
        sa.Column("passport_id", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=200), nullable=False),
        sa.Column("mass_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("mass_g > 0", name="ck_lot_claim_mass"),
        sa.ForeignKeyConstraint(
            ["passport_id", "sequence"], ["history_entry.passport_id", "history_entry.sequence"]
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["material_lot.id"]),
        sa.PrimaryKeyConstraint("passport_id", "sequence", "lot_id"),
    )


def downgrade() -> None:
    """Drop them again; refused while the log holds lifecycle events, which 0003 cannot
    serve."""
    events = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM history_entry WHERE kind LIKE 'event:%'")
    )
    if events.scalar():
        raise RuntimeError("the log holds lifecycle events: revision 0003 cannot serve them")
    op.drop_column("instance", "claims_from")
    op.drop_table("status_counter")
    op.drop_index("ix_history_entry_status_index", table_name="history_entry")
    op.drop_column("history_entry", "status_index")
    op.drop_index("ix_history_entry_org_id", table_name="history_entry")
    op.drop_column("history_entry", "org_id")
    op.drop_table("lot_claim")
    op.drop_index("ix_material_lot_batch", table_name="material_lot")
    op.drop_index("ix_material_lot_org_id", table_name="material_lot")
    op.drop_table("material_lot")
    # SQLite drops a column in place (3.35+): a batch rebuild would drop `passport`, which the
    # history's foreign keys refuse.
    op.drop_index("ix_passport_predecessor_id", table_name="passport")
    op.drop_column("passport", "predecessor_id")
    op.drop_column("passport", "status")
