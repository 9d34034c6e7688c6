"""Passport endpoints: issue one or many, read by tier, correct by new version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from passport import db
from passport.api.auth import authenticated, optional_caller, required_caller
from passport.api.bulk import BULK_REQUEST_BODY, read_bulk_rows
from passport.api.schemas import BulkOut, CorrectionIn, PassportIn, PassportOut
from passport.services import issuing, passports
from passport.services.context import ServiceContext
from passport.services.history import PassportView

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
    }


@blp.route("/passports")
class Passports(MethodView):
    """Issue a passport."""

    @authenticated
    @blp.doc(security=BEARER)
    @blp.arguments(PassportIn)
    @blp.response(201, PassportOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Issue a passport and return its signed credentials (manufacturers)."""
        caller = required_caller()
        return _out(issuing.issue_passport(db.session(), ctx(), caller, data, at=now()))


@blp.route("/passports:bulk")
class BulkPassports(MethodView):
    """Issue many passports at once."""

    @blp.doc(security=BEARER, requestBody=BULK_REQUEST_BODY)
    @blp.response(201, BulkOut)
    def post(self) -> dict[str, Any]:
        """Issue up to 10,000 passports from a JSON array or CSV, all or nothing."""
        caller = required_caller()
        rows = read_bulk_rows(request, ctx())
        views = issuing.issue_passports(
            db.session(), ctx(), caller, rows.rows, row_errors=rows.errors, at=now()
        )
        items = [{"id": v.id, "uri": v.uri, "version": v.version} for v in views]
        return {"count": len(items), "passports": items}


@blp.route("/passports/<path:passport_id>")
class PassportById(MethodView):
    """Read a passport."""

    @blp.response(200, PassportOut)
    def get(self, passport_id: str) -> dict[str, Any]:
        """Return the current version; restricted tiers only as the caller's role allows."""
        return _out(passports.get_passport(db.session(), ctx(), optional_caller(), passport_id))


@blp.route("/passports/<path:passport_id>/versions")
class PassportVersions(MethodView):
    """Correct a passport."""

    @authenticated
    @blp.doc(security=BEARER)
    @blp.arguments(CorrectionIn)
    @blp.response(201, PassportOut)
    def post(self, data: dict[str, Any], passport_id: str) -> dict[str, Any]:
        """Issue a new version superseding the current one (the issuing manufacturer only)."""
        caller = required_caller()
        view = passports.correct_passport(
            db.session(), ctx(), caller, passport_id, data["product"], at=now()
        )
        return _out(view)
