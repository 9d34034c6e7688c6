"""Marshmallow schemas of the public contract: envelopes; product data follows the JSON Schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from passport.api.ledger import InclusionOut
from passport.core.product.gs1 import Granularity
from passport.core.product.rules import CATEGORIES


class ProductField(ma.fields.Dict):
    """Product data, checked against `schemas/{category}.schema.json` by the service."""


class PassportIn(ma.Schema):
    """A passport to issue."""

    category = ma.fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    granularity = ma.fields.String(
        required=True, validate=validate.OneOf([g.value for g in Granularity])
    )
    gtin = ma.fields.String(
        required=True, metadata={"description": "GTIN-8/12/13/14; stored as GTIN-14"}
    )
    variant = ma.fields.String(metadata={"description": "GS1 AI 22, consumer product variant"})
    lot = ma.fields.String(metadata={"description": "GS1 AI 10; required for batch passports"})
    serial = ma.fields.String(
        metadata={"description": "GS1 AI 21; generated (65 random bits) when an item has none"}
    )
    product = ProductField(
        required=True,
        metadata={
            "description": "Product data per schemas/{category}.schema.json; each field carries "
            "its access tier (x-access-tier)."
        },
    )


class ListArgs(ma.Schema):
    """Filters of a passport listing."""

    issuer = ma.fields.String(metadata={"description": "slug of the issuing organisation"})
    recorded_by = ma.fields.String(
        metadata={"description": "slug of an organisation that signed a version or event of it"}
    )
    category = ma.fields.String(validate=validate.OneOf(CATEGORIES))
    gtin = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(["active", "superseded", "end-of-life"]))
    since = ma.fields.AwareDateTime(
        metadata={"description": "issued or changed at or after this time (RFC 3339)"}
    )
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = ma.fields.String(
        validate=validate.Length(max=600), metadata={"description": "`next` of the last page"}
    )


class ListedOut(ma.Schema):
    """A passport in a listing (its credentials: GET /passports/{id}, tiers by role)."""

    id = ma.fields.String()
    uri = ma.fields.String()
    category = ma.fields.String()
    granularity = ma.fields.String()
    status = ma.fields.String()
    issuer = ma.fields.String()
    issued_at = ma.fields.DateTime()
    changed_at = ma.fields.DateTime()
    predecessor = ma.fields.String(allow_none=True)


class ListOut(ma.Schema):
    """A page of passports, oldest first; `next` is the cursor of the following page."""

    passports = ma.fields.List(ma.fields.Nested(ListedOut))
    next = ma.fields.String(allow_none=True)


class CorrectionIn(ma.Schema):
    """A corrected product data set; it becomes a new version."""

    product = ProductField(required=True)


class CoveredOut(InclusionOut):
    """A checkpoint covering a new entry and the entry's inclusion proof in it."""

    checkpoint = ma.fields.String(metadata={"description": "C2SP signed note"})


class WaitArgs(ma.Schema):
    """Whether a write waits for a checkpoint covering its entries."""

    wait = ma.fields.String(
        validate=validate.OneOf(["checkpoint"]),
        metadata={"description": "`checkpoint`: answer once a signed checkpoint covers the entry"},
    )


class PassportOut(ma.Schema):
    """A passport version with the credentials the caller may read."""

    id = ma.fields.String(metadata={"description": "Digital Link path, e.g. 01/…/21/…"})
    uri = ma.fields.String(metadata={"description": "the full Digital Link URI"})
    category = ma.fields.String()
    granularity = ma.fields.String()
    version = ma.fields.Integer()
    sequence = ma.fields.Integer()
    credential = ma.fields.Dict(metadata={"description": "the signed public credential"})
    restricted = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(),
        metadata={"description": "signed restricted credentials by tier, as the role allows"},
    )
    ledger_index = ma.fields.Integer(
        allow_none=True, metadata={"description": "index of this version's ledger entry"}
    )
    inclusion = ma.fields.Nested(CoveredOut, metadata={"description": "with ?wait=checkpoint"})


class BulkItemOut(ma.Schema):
    """One issued passport of a bulk request."""

    id = ma.fields.String()
    uri = ma.fields.String()
    version = ma.fields.Integer()
    ledger_index = ma.fields.Integer()


class BulkOut(ma.Schema):
    """The result of an all-or-nothing bulk issuance."""

    count = ma.fields.Integer()
    passports = ma.fields.List(ma.fields.Nested(BulkItemOut))


class BundleEntryOut(ma.Schema):
    """A ledger entry (its exact text) with its inclusion proof in the bundle's checkpoint."""

    index = ma.fields.Integer()
    entry = ma.fields.String()
    proof = ma.fields.List(ma.fields.String())


class BundleRestrictedOut(ma.Schema):
    """A restricted credential and the index of the logged public credential binding it."""

    index = ma.fields.Integer()
    tier = ma.fields.String()
    credential = ma.fields.Dict()


class BundleOut(ma.Schema):
    """Everything needed to verify a passport's history offline with the pinned log key."""

    format = ma.fields.String()
    passport = ma.fields.String()
    log = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    checkpoint = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(BundleEntryOut))
    restricted = ma.fields.List(ma.fields.Nested(BundleRestrictedOut))
    did_documents = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())


class LotClaimOut(ma.Schema):
    """Grams of a lot a passport's current version claims as recycled content."""

    passport = ma.fields.String()
    sequence = ma.fields.Integer()
    mass_g = ma.fields.Integer()
    ledger_index = ma.fields.Integer()


class LotOut(ma.Schema):
    """A material lot: origin (in its credential), mass, claims and what remains."""

    id = ma.fields.String(metadata={"description": "Digital Link path, 01/{gtin}/10/{lot}"})
    uri = ma.fields.String()
    material = ma.fields.String()
    mass_g = ma.fields.Integer()
    claimed_g = ma.fields.Integer()
    remaining_g = ma.fields.Integer()
    ledger_index = ma.fields.Integer()
    credential = ma.fields.Dict(metadata={"description": "the signed lot credential"})
    claims = ma.fields.List(ma.fields.Nested(LotClaimOut))


class EventOut(ma.Schema):
    """A recorded lifecycle event with its signed credentials."""

    passport = ma.fields.String(metadata={"description": "the passport's Digital Link path"})
    uri = ma.fields.String(metadata={"description": "the passport's Digital Link URI"})
    sequence = ma.fields.Integer(metadata={"description": "its number in the history"})
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"description": "active, superseded or end-of-life"})
    credential = ma.fields.Dict(metadata={"description": "the signed public credential"})
    restricted = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    ledger_index = ma.fields.Integer()
    inclusion = ma.fields.Nested(CoveredOut, metadata={"description": "with ?wait=checkpoint"})
    successor = ma.fields.Nested(
        PassportOut, metadata={"description": "the new passport a remanufacture issued"}
    )
    lots = ma.fields.List(
        ma.fields.Nested(LotOut), metadata={"description": "the lots a recycling run produced"}
    )


class HistoryEntryOut(ma.Schema):
    """A version or event of a passport's history, as the caller may read it."""

    sequence = ma.fields.Integer()
    kind = ma.fields.String(
        metadata={
            "description": "its ledger entry kind: passport:issued, "
            "passport:corrected or event:{kind}"
        }
    )
    version = ma.fields.Integer(allow_none=True, metadata={"description": "null for an event"})
    ledger_index = ma.fields.Integer()
    credential = ma.fields.Dict()
    restricted = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())


class HistoryOut(ma.Schema):
    """A passport's events (`events`) or whole history (`entries`), oldest first."""

    passport = ma.fields.String()
    uri = ma.fields.String()
    status = ma.fields.String()
    events = ma.fields.List(ma.fields.Nested(HistoryEntryOut))
    entries = ma.fields.List(ma.fields.Nested(HistoryEntryOut))


class EpcisOut(ma.Schema):
    """An EPCIS 2.0 document (GS1 EPCIS JSON Schema): `@context`, `type` EPCISDocument,
    `schemaVersion`, `creationDate`, `epcisBody.eventList`."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String()
    schemaVersion = ma.fields.String()
    creationDate = ma.fields.String()
    epcisBody = ma.fields.Dict()


class BulkEventOut(ma.Schema):
    """What became of one item of a bulk request."""

    item = ma.fields.Integer(metadata={"description": "1-based item (CSV: data row)"})
    passport = ma.fields.String(allow_none=True)
    status = ma.fields.Integer(metadata={"description": "201 recorded, else the problem's"})
    kind = ma.fields.String()
    sequence = ma.fields.Integer()
    ledger_index = ma.fields.Integer()
    lifecycle = ma.fields.String(metadata={"description": "the passport's status after it"})
    problem = ma.fields.Dict(metadata={"description": "RFC 9457 problem detail of a refusal"})


class BulkEventsOut(ma.Schema):
    """One outcome per item of a bulk event request."""

    recorded = ma.fields.Integer()
    refused = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(BulkEventOut))


class LineageNodeOut(ma.Schema):
    """A passport or a material lot in a lineage."""

    id = ma.fields.String()
    uri = ma.fields.String()
    type = ma.fields.String(metadata={"description": "passport or lot"})
    status = ma.fields.String(
        metadata={"description": "a passport's status; a lot: available or claimed"}
    )
    remaining_g = ma.fields.Integer(metadata={"description": "a lot's unclaimed grams"})
    ledger_index = ma.fields.Integer(metadata={"description": "the entry that made it"})


class LineageEdgeOut(ma.Schema):
    """How one node led to another."""

    source = ma.fields.String(data_key="from")
    to = ma.fields.String()
    relation = ma.fields.String(
        metadata={"description": "remanufactured-into, recycled-into or drawn-into"}
    )


class LineageOut(ma.Schema):
    """The graph around a passport."""

    passport = ma.fields.String()
    nodes = ma.fields.List(ma.fields.Nested(LineageNodeOut))
    edges = ma.fields.List(ma.fields.Nested(LineageEdgeOut))
