"""SQLModel tables: storage shape and constraints only, never validation or wire format."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

import passport.store.account_tables  # noqa: F401  (registers the tables of people signing in)

LOG_INDEX = BigInteger().with_variant(Integer, "sqlite")


def _when() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False)


class OrganisationRow(SQLModel, table=True):
    """An organisation in the value chain; its DID is derived from the slug."""

    __tablename__ = "organisation"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=63, unique=True, index=True)
    name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    province: str | None = Field(default=None, max_length=100)
    municipality: str | None = Field(default=None, max_length=100)
    gln: str | None = Field(default=None, max_length=13)
    created_at: datetime = Field(sa_column=_when())


class OrgRoleRow(SQLModel, table=True):
    """One role an organisation holds."""

    __tablename__ = "org_role"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    role: str = Field(max_length=20, primary_key=True)


class OrgKeyRow(SQLModel, table=True):
    """A public signing key of an organisation; retired and revoked keys stay listed forever."""

    __tablename__ = "org_key"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    key_id: str = Field(max_length=40, unique=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    created_at: datetime = Field(sa_column=_when())
    retired_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Set by a revocation (the key may be in other hands): the DID document marks it revoked.
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class OrgPrefixRow(SQLModel, table=True):
    """A GS1 company prefix (or a whole GTIN-8, in its GTIN-13 form) an organisation issues under.

    Several organisations may hold one prefix (a brand owner and its contract maker): the
    operator who registers it vouches for each (`passport.services.orgs.prefixes`).
    """

    __tablename__ = "org_prefix"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    prefix: str = Field(max_length=13, primary_key=True)


class ApiTokenRow(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_column=_when())
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class PassportRow(SQLModel, table=True):
    """A passport identity; its Digital Link path is the key and is never reused."""

    __tablename__ = "passport"
    # An item is one GTIN + serial, whatever lot or variant its path also names.
    __table_args__ = (UniqueConstraint("gtin", "serial", name="uq_passport_gtin_serial"),)

    id: str = Field(primary_key=True, max_length=200)
    gtin: str = Field(max_length=14)  # looked up through uq_passport_gtin_serial
    variant: str | None = Field(default=None, max_length=20)
    lot: str | None = Field(default=None, max_length=20)
    serial: str | None = Field(default=None, max_length=20)
    granularity: str = Field(max_length=10)
    category: str = Field(max_length=20)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    created_at: datetime = Field(sa_column=_when())
    # active, superseded or end-of-life (`passport.core.lifecycle.states`), set with the event.
    status: str = Field(
        default="active", max_length=20, sa_column_kwargs={"server_default": "active"}
    )
    # The passport this one was remanufactured from, if any.
    predecessor_id: str | None = Field(
        default=None, max_length=200, index=True, foreign_key="passport.id"
    )


class HistoryEntryRow(SQLModel, table=True):
    """One signed public credential in a passport's history: a version (`version` set) or a
    lifecycle event (`kind` `event:…`, no version).

    The credential itself is stored once, inside its ledger entry (`ledger_index`), and
    served from there (`passport.core.log.kinds.credential_of`).
    """

    __tablename__ = "history_entry"
    __table_args__ = (UniqueConstraint("ledger_index", name="uq_history_entry_ledger_index"),)

    passport_id: str = Field(foreign_key="passport.id", primary_key=True, max_length=200)
    sequence: int = Field(primary_key=True)
    kind: str = Field(max_length=40)
    version: int | None = Field(default=None)
    # The organisation that signed it: the issuer for a version, the actor for an event.
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # A version's index in its issuer's status lists (`passport.core.lifecycle.status`).
    status_index: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    entry_hash: str = Field(max_length=64)
    ledger_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=_when())


class RestrictedCredentialRow(SQLModel, table=True):
    """A signed restricted-tier credential bound by digest to a history entry."""

    __tablename__ = "restricted_credential"
    __table_args__ = (
        ForeignKeyConstraint(
            ["passport_id", "sequence"], ["history_entry.passport_id", "history_entry.sequence"]
        ),
    )

    passport_id: str = Field(primary_key=True, max_length=200)
    sequence: int = Field(primary_key=True)
    tier: str = Field(primary_key=True, max_length=20)
    # The credential's JCS bytes, packed (`passport.store.packing`).
    packed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class StatusCounterRow(SQLModel, table=True):
    """The next unreserved status-list index of an organisation; processes reserve blocks."""

    __tablename__ = "status_counter"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    next_index: int = Field(sa_column=Column(BigInteger, nullable=False))


class MaterialLotRow(SQLModel, table=True):
    """A lot recycling produced: its Digital Link batch id, mass, and grams claimed from it."""

    __tablename__ = "material_lot"
    __table_args__ = (
        CheckConstraint("claimed_g >= 0 AND claimed_g <= mass_g", name="ck_material_lot_claimed"),
        UniqueConstraint("gtin", "lot", name="uq_material_lot_gtin_lot"),
    )

    id: str = Field(primary_key=True, max_length=200)  # 01/{gtin}/10/{lot}
    gtin: str = Field(max_length=14)
    lot: str = Field(max_length=20)
    material: str = Field(max_length=60)
    mass_g: int = Field(sa_column=Column(BigInteger, nullable=False))
    claimed_g: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    org_id: int = Field(foreign_key="organisation.id", index=True)
    # The lot's credential (kind lot:produced) and the recycling run that produced it.
    ledger_index: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    batch: str = Field(max_length=60, index=True)
    created_at: datetime = Field(sa_column=_when())


class LotClaimRow(SQLModel, table=True):
    """Grams of a lot a passport version claims as recycled content. A passport's claims are
    those of its newest version: a correction releases the ones before it."""

    __tablename__ = "lot_claim"
    __table_args__ = (
        ForeignKeyConstraint(
            ["passport_id", "sequence"], ["history_entry.passport_id", "history_entry.sequence"]
        ),
        CheckConstraint("mass_g > 0", name="ck_lot_claim_mass"),
    )

    passport_id: str = Field(primary_key=True, max_length=200)
    sequence: int = Field(primary_key=True)
    lot_id: str = Field(foreign_key="material_lot.id", primary_key=True, max_length=200)
    mass_g: int = Field(sa_column=Column(BigInteger, nullable=False))


class LedgerEntryRow(SQLModel, table=True):
    """One entry of the append-only log: its exact bytes at a contiguous index. Insert-only."""

    __tablename__ = "ledger_entry"
    # On SQLite an INTEGER primary key is the rowid itself: one B-tree per entry, not two.
    idx: int = Field(sa_column=Column(LOG_INDEX, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=40)
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    passport_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_when())
    # SHA-256(0x00 || entry), kept beside the entry for readers of the table; `dpp audit` checks
    # it. Proofs read leaf hashes from the tiles.
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerTileRow(SQLModel, table=True):
    """A tile of the Merkle tree: the perfect-subtree hashes at levels 4·level to 4·level+3
    under subtree (4·level+4, idx), `width` of its 16 lowest complete (`passport.core.log.tiles`).
    A complete tile never changes; the one at the log's right edge on each level only grows."""

    __tablename__ = "ledger_tile"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    width: int = Field(nullable=False)
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerHeadRow(SQLModel, table=True):
    """The single lock row of the sequencer: the log's size, taken FOR UPDATE on every append."""

    __tablename__ = "ledger_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    size: int = Field(sa_column=Column(BigInteger, nullable=False))


class CheckpointRow(SQLModel, table=True):
    """A signed C2SP checkpoint; every one is kept."""

    __tablename__ = "checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_when())


class IdempotencyRow(SQLModel, table=True):
    """A write request seen before, by client key: its body digest and the response it got."""

    __tablename__ = "idempotency"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    request_digest: str = Field(max_length=64)
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_when())


class InstanceRow(SQLModel, table=True):
    """The instance's identity, one row fixed at `dpp init`: the base URL every DID, Digital
    Link URI and the checkpoint origin are made of (`passport.instance`)."""

    __tablename__ = "instance"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    base_url: str = Field(max_length=300)
    created_at: datetime = Field(sa_column=_when())
    # The log's size when recycled-content claims began to be checked against lots (0.2.0);
    # claims logged before it were never drawn from recorded lots, and the audit says so.
    claims_from: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))


def row_id(row: OrganisationRow) -> int:
    """Return a flushed row's id; refuse a row that was never stored (it has none yet)."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} {row.slug!r} has no id: flush it first")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """Return the Core table of a model, for bulk inserts that skip the ORM."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
