"""Passport endpoints: issue one or many, read by tier, correct by new version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from passport.api.auth import authenticated, optional_caller, required_caller
from passport.api.bulk import BULK_REQUEST_BODY, read_bulk_rows
from passport.api.ledger import b64
from passport.api.schemas import BulkOut, BundleOut, CorrectionIn, PassportIn, PassportOut, WaitArgs
from passport.core.product.access import Caller
from passport.core.signing.canonical import canonicalize
from passport.services.context import ServiceContext
from passport.services.ledger.publisher import Publisher
from passport.services.passports import read as passports
from passport.services.passports import writes
from passport.services.passports.bundle import build_bundle
from passport.services.passports.idempotency import Idempotency
from passport.services.passports.views import PassportView
from passport.store import db

blp = Blueprint(
    "passports", __name__, url_prefix="/api/v1", description="Digital product passports"
)
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


def _write(caller: Caller) -> writes.Write:
    """Describe the request's write: the caller, the time, its Idempotency-Key if any."""
    key = request.headers.get("Idempotency-Key")
    idem = None
    if key is not None:
        idem = Idempotency.of(
            caller.org_id, key, request.method, request.full_path, request.get_data()
        )
    at = datetime.now(UTC).replace(microsecond=0)  # whole seconds, as the credentials say
    return writes.Write(db.session(), ctx(), publisher(), caller, at, idem)


def _one(views: list[PassportView]) -> dict[str, Any]:
    out: dict[str, Any] = PassportOut().dump(views[0])
    return out


def _many(views: list[PassportView]) -> dict[str, Any]:
    out: dict[str, Any] = BulkOut().dump({"count": len(views), "passports": views})
    return out


def _answer(written: writes.Written) -> dict[str, Any]:
    if written.inclusion is None:
        return written.body
    proof = written.inclusion.proof
    covered = {
        "checkpoint": written.inclusion.checkpoint.decode(),
        "index": proof.index,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "hashes": [b64(h) for h in proof.hashes],
    }
    return {**written.body, "inclusion": covered}


@blp.route("/passports")
class Passports(MethodView):
    """Issue a passport."""

    @authenticated
    @blp.doc(security=BEARER, **IDEMPOTENCY)
    @blp.arguments(WaitArgs, location="query")
    @blp.arguments(PassportIn)
    @blp.response(201, PassportOut)
    def post(self, args: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Issue a passport and return its signed credentials (manufacturers)."""
        wait = args.get("wait") == "checkpoint"
        return _answer(writes.issue_one(_write(required_caller()), data, wait=wait, response=_one))


@blp.route("/passports:bulk")
class BulkPassports(MethodView):
    """Issue many passports at once."""

    @authenticated
    @blp.doc(security=BEARER, requestBody=BULK_REQUEST_BODY, **IDEMPOTENCY)
    @blp.response(201, BulkOut)
    def post(self) -> dict[str, Any]:
        """Issue up to 10,000 passports from a JSON array or CSV, all or nothing."""
        caller = required_caller()
        request.get_data()  # keep the raw body: the Idempotency-Key's digest covers it
        rows = read_bulk_rows(request, ctx())
        return writes.issue_many(_write(caller), rows, response=_many).body


@blp.route("/passports/<path:passport_id>")
class PassportById(MethodView):
    """Read a passport."""

    @blp.response(200, PassportOut)
    def get(self, passport_id: str) -> PassportView:
        """Return the current version; restricted tiers only as the caller's role allows."""
        return passports.get_passport(db.session(), ctx(), optional_caller(), passport_id)


@blp.route("/passports/<path:passport_id>/bundle")
class PassportBundle(MethodView):
    """The offline bundle of a passport."""

    @blp.response(200, BundleOut)
    def get(self, passport_id: str) -> Response:
        """Return checkpoint, entries with inclusion proofs, keys, DID documents, readable tiers.

        The body is the bundle's JCS bytes: save it as it comes and `dpp verify` it.
        """
        bundle = build_bundle(db.session(), ctx(), publisher(), optional_caller(), passport_id)
        return Response(canonicalize(bundle), mimetype="application/json")


@blp.route("/passports/<path:passport_id>/versions")
class PassportVersions(MethodView):
    """Correct a passport."""

    @authenticated
    @blp.doc(security=BEARER, **IDEMPOTENCY)
    @blp.arguments(WaitArgs, location="query")
    @blp.arguments(CorrectionIn)
    @blp.response(201, PassportOut)
    def post(self, args: dict[str, Any], data: dict[str, Any], passport_id: str) -> dict[str, Any]:
        """Issue a new version superseding the current one (the issuing manufacturer only)."""
        wait = args.get("wait") == "checkpoint"
        write = _write(required_caller())
        written = writes.correct(write, passport_id, data["product"], wait=wait, response=_one)
        return _answer(written)
