"""Passport endpoints: issue one or many, read by tier, correct by new version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from passport.api.auth import authenticated, optional_caller, required_caller
from passport.api.bulk import BULK_REQUEST_BODY, read_bulk_rows
from passport.api.ledger import b64
from passport.api.schemas import BulkOut, BundleOut, CorrectionIn, PassportIn, PassportOut, WaitArgs
from passport.core.errors import Conflict
from passport.core.signing.canonical import canonicalize
from passport.services.context import ServiceContext
from passport.services.ledger import proofs
from passport.services.ledger.publisher import Publisher
from passport.services.orgs.tokens import Caller
from passport.services.passports import issue as issuing
from passport.services.passports import read as passports
from passport.services.passports.bundle import build_bundle
from passport.services.passports.history import PassportView
from passport.services.passports.idempotency import Idempotency, Remember, remembering, replay
from passport.store import db

blp = Blueprint(
    "passports", __name__, url_prefix="/api/v1", description="Digital product passports"
)
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def ctx() -> ServiceContext:
    """Return the app's service context."""
    context: ServiceContext = current_app.extensions["passport.services"]
    return context


def now() -> datetime:
    """Return the request time (UTC, whole seconds as in the credentials)."""
    return datetime.now(UTC).replace(microsecond=0)


def _out(view: PassportView) -> dict[str, Any]:
    return {
        "id": view.id,
        "uri": view.uri,
        "category": view.category,
        "granularity": view.granularity,
        "version": view.version,
        "sequence": view.sequence,
        "credential": view.credential,
        "restricted": {tier.value: cred for tier, cred in view.restricted.items()},
        "ledger_index": view.ledger_index,
    }


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


def idempotent(
    caller: Caller,
    run: Callable[[Remember | None], dict[str, Any]],
    response: Callable[[list[PassportView]], dict[str, Any]],
) -> dict[str, Any]:
    """Run a write once per Idempotency-Key; a retry gets the stored response."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return run(None)
    idem = Idempotency.of(caller.org_id, key, request.method, request.full_path, request.get_data())
    sess = db.session()
    stored = replay(sess, idem)
    sess.commit()
    if stored is not None:
        return stored
    try:
        return run(remembering(idem, response, now()))
    except Conflict:
        stored = replay(sess, idem)  # a concurrent retry won the race: answer as it did
        if stored is None:
            raise
        return stored


def publisher() -> Publisher:
    """Return the app's checkpoint publisher."""
    found: Publisher = current_app.extensions["passport.publisher"]
    return found


def _logged(view: PassportView, args: dict[str, Any]) -> dict[str, Any]:
    """Answer a write: publish a checkpoint when due; with wait=checkpoint, prove inclusion."""
    out = _out(view)
    if args.get("wait") == "checkpoint" and view.ledger_index is not None:
        published = publisher().covering(view.ledger_index)
        proof = proofs.inclusion(db.session(), view.ledger_index, published.size)
        out["inclusion"] = {
            "checkpoint": published.note.decode(),
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": b64(proof.leaf_hash),
            "hashes": [b64(h) for h in proof.hashes],
        }
    else:
        publisher().after_write()
    return out


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
        caller = required_caller()

        def run(remember: Remember | None) -> dict[str, Any]:
            view = issuing.issue_passport(
                db.session(), ctx(), caller, data, at=now(), remember=remember
            )
            return _logged(view, args)

        return idempotent(caller, run, lambda views: _out(views[0]))


@blp.route("/passports:bulk")
class BulkPassports(MethodView):
    """Issue many passports at once."""

    @authenticated
    @blp.doc(security=BEARER, requestBody=BULK_REQUEST_BODY, **IDEMPOTENCY)
    @blp.response(201, BulkOut)
    def post(self) -> dict[str, Any]:
        """Issue up to 10,000 passports from a JSON array or CSV, all or nothing."""
        caller = required_caller()
        request.get_data()  # cache the raw body first: the idempotency digest covers it
        rows = read_bulk_rows(request, ctx())

        def run(remember: Remember | None) -> dict[str, Any]:
            views = issuing.issue_passports(
                db.session(),
                ctx(),
                caller,
                rows.rows,
                row_errors=rows.errors,
                at=now(),
                remember=remember,
            )
            publisher().after_write()
            return _bulk_out(views)

        return idempotent(caller, run, _bulk_out)


def _bulk_out(views: list[PassportView]) -> dict[str, Any]:
    items = [
        {"id": v.id, "uri": v.uri, "version": v.version, "ledger_index": v.ledger_index}
        for v in views
    ]
    return {"count": len(items), "passports": items}


@blp.route("/passports/<path:passport_id>")
class PassportById(MethodView):
    """Read a passport."""

    @blp.response(200, PassportOut)
    def get(self, passport_id: str) -> dict[str, Any]:
        """Return the current version; restricted tiers only as the caller's role allows."""
        return _out(passports.get_passport(db.session(), ctx(), optional_caller(), passport_id))


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
        caller = required_caller()

        def run(remember: Remember | None) -> dict[str, Any]:
            view = passports.correct_passport(
                db.session(),
                ctx(),
                caller,
                passport_id,
                data["product"],
                at=now(),
                remember=remember,
            )
            return _logged(view, args)

        return idempotent(caller, run, lambda views: _out(views[0]))
