"""Lifecycle-event endpoints: record an event, list a passport's events and its history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from passport.api.auth import authenticated, optional_caller, required_caller
from passport.api.passports import BEARER, IDEMPOTENCY, ctx, write_of
from passport.api.schemas import (
    EpcisOut,
    EventOut,
    HistoryOut,
    LineageOut,
    LotOut,
    PassportOut,
    WaitArgs,
)
from passport.core import limits
from passport.core.errors import InvalidInput
from passport.core.lifecycle.epcis import epcis_document
from passport.core.lifecycle.vocabulary import EventKind
from passport.services.events import writes
from passport.services.events.lineage import lineage
from passport.services.events.lots import LotView, get_lot
from passport.services.events.read import StoredEntry, StoredHistory, stored_history
from passport.services.events.record import EventView
from passport.store import db

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Lifecycle events")
EPCIS_MEDIA_TYPE = "application/ld+json"

EVENT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "One event: `kind` and the fields its schema takes "
    "(schemas/events/{kind}.schema.json; schemas/examples/events/ holds one per kind). "
    "Fields of a restricted tier (facility, note: legitimate_interest; documents: authority) "
    "go into restricted credentials bound to the public one.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["kind", "occurred_at"],
                "properties": {
                    "kind": {"type": "string", "enum": [kind.value for kind in EventKind]},
                    "occurred_at": {"type": "string", "format": "date-time"},
                },
            }
        }
    },
}


def event_body() -> object:
    """The request's JSON body, parsed within the limits; any other media type is a 415."""
    data = request.get_data(cache=True)
    if not is_json_request(request):
        raise UnsupportedMediaType(
            f"send the event as application/json, not {request.mimetype or 'untyped'}"
        )
    if not data.strip():
        raise InvalidInput("no event sent", errors={"event": ["send the event as a JSON object"]})
    try:
        return limits.loads(data)
    except ValueError as exc:
        raise InvalidInput("the body is not JSON", errors={"event": [str(exc)]}) from None


_PASSPORT_OUT = PassportOut()


def _recorded(views: list[EventView]) -> dict[str, Any]:
    view = views[0]
    successor = {} if view.successor is None else {"successor": _PASSPORT_OUT.dump(view.successor)}
    lots = {"lots": [_lot(lot) for lot in view.lots]} if view.lots else {}
    return {
        "passport": view.passport,
        "uri": view.uri,
        "sequence": view.sequence,
        "kind": view.kind,
        "status": view.status,
        "credential": view.credential,
        "restricted": {tier.value: cred for tier, cred in view.restricted.items()},
        "ledger_index": view.ledger_index,
        **successor,
        **lots,
    }


def _lot(lot: LotView) -> dict[str, Any]:
    return {
        "id": lot.id,
        "uri": lot.uri,
        "material": lot.material,
        "mass_g": lot.mass_g,
        "claimed_g": lot.claimed_g,
        "remaining_g": lot.remaining_g,
        "ledger_index": lot.ledger_index,
        "credential": lot.credential,
        "claims": list(lot.claims),
    }


@blp.route("/lots/<passport_id:lot_id>")
class MaterialLot(MethodView):
    """A material lot produced by recorded recycling."""

    @blp.response(200, LotOut)
    def get(self, lot_id: str) -> Response:
        """Return the lot's origin (its credential names the run and its inputs), its mass, the
        passports that claim it as recycled content and what remains."""
        return Response(
            orjson.dumps(_lot(get_lot(db.session(), ctx(), lot_id))), mimetype="application/json"
        )


@blp.route("/passports/<passport_id:passport_id>/events")
class PassportEvents(MethodView):
    """Record and list a passport's lifecycle events."""

    @authenticated
    @blp.doc(security=BEARER, requestBody=EVENT_REQUEST_BODY, **IDEMPOTENCY)
    @blp.arguments(WaitArgs, location="query")
    @blp.response(201, EventOut)
    def post(self, args: dict[str, Any], passport_id: str) -> Response:
        """Record an event, signed with the caller's key, in the passport's history.

        403 when the caller's roles may not record the kind; 409 (`wrong-state`) when the
        passport's state does not allow it (a repair after recycling, a second remanufacture).
        """
        write = write_of(required_caller())
        body = event_body()
        wait = args.get("wait") == "checkpoint"
        written = writes.record(write, passport_id, body, wait=wait, response=_recorded)
        return Response(written.text, status=201, mimetype="application/json")

    @blp.response(200, HistoryOut)
    def get(self, passport_id: str) -> Response:
        """List the passport's events in ledger order; restricted tiers as the role allows."""
        stored = stored_history(
            db.session(), ctx(), optional_caller(), passport_id, events_only=True
        )
        return _history(stored, "events")


@blp.route("/passports/<passport_id:passport_id>/events.epcis")
class PassportEpcis(MethodView):
    """The passport's history as GS1 EPCIS 2.0."""

    @blp.response(200, EpcisOut, content_type=EPCIS_MEDIA_TYPE)
    def get(self, passport_id: str) -> Response:
        """Return an EPCIS 2.0 JSON-LD document of the passport's history: ObjectEvents for
        commissioning, custody, repair, collection, sorting and end of life, and
        TransformationEvents for remanufacture and recycling (own bizStep URIs where CBV has
        none, under `{base}/vocab/epcis/`)."""
        stored = stored_history(
            db.session(), ctx(), optional_caller(), passport_id, events_only=False
        )
        history = [(e.ledger_index, e.kind, orjson.loads(e.credential)) for e in stored.entries]
        document = epcis_document(
            history, passport_uri=stored.uri, base_url=ctx().base_url, created=datetime.now(UTC)
        )
        return Response(orjson.dumps(document), mimetype=EPCIS_MEDIA_TYPE)


@blp.route("/passports/<passport_id:passport_id>/lineage")
class PassportLineage(MethodView):
    """Where a passport came from and what came of it."""

    @blp.response(200, LineageOut)
    def get(self, passport_id: str) -> dict[str, Any]:
        """Return the graph around the passport: predecessors and successors (remanufacture),
        the lots it drew recycled content from, the lots its recycling produced and the
        products made from them; each node with its status and ledger index."""
        return lineage(db.session(), ctx(), passport_id)


@blp.route("/passports/<passport_id:passport_id>/history")
class PassportHistory(MethodView):
    """Every version and event of a passport."""

    @blp.response(200, HistoryOut)
    def get(self, passport_id: str) -> Response:
        """Return every version and event in ledger order, each with its ledger index."""
        stored = stored_history(
            db.session(), ctx(), optional_caller(), passport_id, events_only=False
        )
        return _history(stored, "entries")


def _history(stored: StoredHistory, member: str) -> Response:
    body = {
        "passport": stored.passport,
        "uri": stored.uri,
        "status": stored.status,
        member: [_entry(entry) for entry in stored.entries],
    }
    return Response(orjson.dumps(body), mimetype="application/json")


def _entry(entry: StoredEntry) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "kind": entry.kind,
        "version": entry.version,
        "ledger_index": entry.ledger_index,
        "credential": orjson.Fragment(entry.credential),
        "restricted": {
            tier.value: orjson.Fragment(text) for tier, text in entry.restricted.items()
        },
    }
