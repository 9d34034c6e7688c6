"""Passport endpoints: issue one or many, read by tier, correct by new version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import flask
import orjson
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from passport.api.auth import authenticated, optional_caller, required_caller
from passport.api.bulk import BULK_REQUEST_BODY, read_bulk_rows
from passport.api.schemas import (
    BulkOut,
    BundleOut,
    CorrectionIn,
    ListArgs,
    ListOut,
    PassportIn,
    PassportOut,
    WaitArgs,
)
from passport.core import limits
from passport.core.product.access import Caller
from passport.core.signing.canonical import canonicalize
from passport.services.context import ServiceContext
from passport.services.ledger.publisher import Publisher
from passport.services.passports import listing, writes
from passport.services.passports import read as passports
from passport.services.passports.bundle import build_bundle
from passport.services.passports.idempotency import Idempotency
from passport.services.passports.views import PassportView, StoredView
from passport.store import db


class StrictParser(FlaskParser):
    """Read JSON bodies within the limits of `passport.core.limits`; any other media type is
    a 415 (no body and no Content-Type at all reads as an empty body)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        data = req.get_data(cache=True)
        if not is_json_request(req):
            if req.mimetype or data:
                raise UnsupportedMediaType(
                    f"send the body as application/json, not {req.mimetype or 'untyped'}"
                )
            return missing
        return limits.loads(data) if data.strip() else missing


blp = Blueprint(
    "passports", __name__, url_prefix="/api/v1", description="Digital product passports"
)
blp.ARGUMENTS_PARSER = StrictParser()
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "Retrying with the same key and body returns the first response "
            "and never appends twice; the same key with another body is a 409.",
        }
    ]
}


def ctx() -> ServiceContext:
    """Return the app's service context."""
    context: ServiceContext = current_app.extensions["passport.services"]
    return context


def publisher() -> Publisher:
    """Return the app's checkpoint publisher."""
    found: Publisher = current_app.extensions["passport.publisher"]
    return found


def write_of(caller: Caller) -> writes.Write:
    """Describe the request's write: the caller, the time, its Idempotency-Key if any."""
    key = request.headers.get("Idempotency-Key")
    idem = None
    if key is not None:
        idem = Idempotency.of(
            caller.org_id, key, request.method, request.full_path, request.get_data()
        )
    at = datetime.now(UTC).replace(microsecond=0)  # whole seconds, as the credentials say
    return writes.Write(db.session(), ctx(), publisher(), caller, at, idem)


_PASSPORT_OUT, _BULK_OUT = PassportOut(), BulkOut()  # built once: dumping is stateless


def _one(views: list[PassportView]) -> dict[str, Any]:
    out: dict[str, Any] = _PASSPORT_OUT.dump(views[0])
    return out


def _many(views: list[PassportView]) -> dict[str, Any]:
    out: dict[str, Any] = _BULK_OUT.dump({"count": len(views), "passports": views})
    return out


def _answer(written: writes.Written) -> Response:
    """Answer with the write's exact JSON text: a retry is answered with the same bytes."""
    return Response(written.text, status=201, mimetype="application/json")


@blp.route("/passports")
class Passports(MethodView):
    """List passports and issue one."""

    @blp.arguments(ListArgs, location="query")
    @blp.response(200, ListOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List passports, oldest first, filtered by issuer, by an organisation that recorded
        on them, category, GTIN, status, or issued or changed since; a page at a time."""
        page, following = listing.list_passports(db.session(), ctx(), listing.Query(**args))
        return {"passports": page, "next": following}

    @authenticated
    @blp.doc(security=BEARER, **IDEMPOTENCY)
    @blp.arguments(WaitArgs, location="query")
    @blp.arguments(PassportIn)
    @blp.response(201, PassportOut)
    def post(self, args: dict[str, Any], data: dict[str, Any]) -> Response:
        """Issue a passport and return its signed credentials (manufacturers)."""
        wait = args.get("wait") == "checkpoint"
        return _answer(
            writes.issue_one(write_of(required_caller()), data, wait=wait, response=_one)
        )


@blp.route("/passports:bulk")
class BulkPassports(MethodView):
    """Issue many passports at once."""

    @authenticated
    @blp.doc(security=BEARER, requestBody=BULK_REQUEST_BODY, **IDEMPOTENCY)
    @blp.response(201, BulkOut)
    def post(self) -> Response:
        """Issue up to 10,000 passports from a JSON array or CSV, all or nothing."""
        caller = required_caller()
        request.get_data()  # keep the raw body: the Idempotency-Key's digest covers it
        rows = read_bulk_rows(request, ctx())
        return _answer(writes.issue_many(write_of(caller), rows, response=_many))


@blp.route("/passports/<passport_id:passport_id>")
class PassportById(MethodView):
    """Read a passport."""

    @blp.response(200, PassportOut)
    def get(self, passport_id: str) -> Response:
        """Return the current version; restricted tiers only as the caller's role allows."""
        return _read(passports.get_passport(db.session(), ctx(), optional_caller(), passport_id))


@blp.route("/passports/<passport_id:passport_id>/bundle")
class PassportBundle(MethodView):
    """The offline bundle of a passport."""

    @blp.response(200, BundleOut)
    def get(self, passport_id: str) -> Response:
        """Return checkpoint, entries with inclusion proofs, keys, DID documents, readable tiers.

        The body is the bundle's JCS bytes: save it as it comes and `dpp verify` it.
        """
        bundle = build_bundle(db.session(), ctx(), publisher(), optional_caller(), passport_id)
        return Response(canonicalize(bundle), mimetype="application/json")


@blp.route("/passports/<passport_id:passport_id>/versions")
class PassportVersions(MethodView):
    """Correct a passport."""

    @authenticated
    @blp.doc(security=BEARER, **IDEMPOTENCY)
    @blp.arguments(WaitArgs, location="query")
    @blp.arguments(CorrectionIn)
    @blp.response(201, PassportOut)
    def post(self, args: dict[str, Any], data: dict[str, Any], passport_id: str) -> Response:
        """Issue a new version superseding the current one (the issuing manufacturer only)."""
        wait = args.get("wait") == "checkpoint"
        write = write_of(required_caller())
        written = writes.correct(write, passport_id, data["product"], wait=wait, response=_one)
        return _answer(written)


def _read(view: StoredView) -> Response:
    """Answer a read with the credentials' stored JCS texts as they are, neither parsed nor
    serialised again (`PassportOut`'s members, in its order)."""
    body = {
        "id": view.id,
        "uri": view.uri,
        "category": view.category,
        "granularity": view.granularity,
        "version": view.version,
        "sequence": view.sequence,
        "credential": orjson.Fragment(view.credential),
        "restricted": {tier.value: orjson.Fragment(text) for tier, text in view.restricted.items()},
        "ledger_index": view.ledger_index,
    }
    return Response(orjson.dumps(body), mimetype="application/json")


def _no_sub_resource(path: str) -> Response:
    """Answer a path no rule above serves: a trailing slash, or an unknown sub-resource."""
    return _read(passports.get_passport(db.session(), ctx(), optional_caller(), path))


def _unknown_sub_resource(path: str) -> Response:
    """An odd path: NotFound names the passport and the sub-resource it has not."""
    passports.load_passport(db.session(), path)
    raise AssertionError("an odd path names no passport")


# Not in the OpenAPI document: `{id}/` reads the passport, and an odd path names what is
# wrong with it (GET …/versions, GET …/nonsense).
flask.Blueprint.add_url_rule(
    blp,
    "/passports/<passport_id:path>/",
    "passport-slash",
    _no_sub_resource,
    methods=["GET"],
)
flask.Blueprint.add_url_rule(
    blp,
    "/passports/<sub_resource:path>",
    "passport-sub-resource",
    _unknown_sub_resource,
    methods=["GET", "POST"],
)
