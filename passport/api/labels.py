"""Labels: a passport's QR code as SVG or PNG, and A4 PDF sheets of labels to print."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from passport.api.auth import authenticated
from passport.api.passports import BEARER, StrictParser, ctx
from passport.services.labels.qr import PNG_PIXELS, SVG_MILLIMETRES, qr_png, qr_svg
from passport.services.labels.selection import MAX_IDS, labels_for
from passport.services.labels.sheet import label_sheet
from passport.services.passports.read import load_passport
from passport.store import db

blp = Blueprint(
    "labels", __name__, url_prefix="/api/v1", description="QR codes and printable label sheets"
)
blp.ARGUMENTS_PARSER = StrictParser()

# The QR code of a passport changes only with the service's base URL: cache it for a day,
# anywhere (it is public), and let any web page use it.
QR_HEADERS = {"Cache-Control": "public, max-age=86400", "Access-Control-Allow-Origin": "*"}
_QR_HEADER_DOCS = {name: {"schema": {"type": "string"}} for name in QR_HEADERS}
_BINARY = {"type": "string", "format": "binary"}


class PngArgs(ma.Schema):
    """The size of a PNG QR code."""

    size = ma.fields.Integer(
        load_default=int(PNG_PIXELS.default),
        validate=validate.Range(min=int(PNG_PIXELS.low), max=int(PNG_PIXELS.high)),
        metadata={"description": "width and height in pixels, quiet zone included"},
    )


class SvgArgs(ma.Schema):
    """The printed size of an SVG QR code."""

    size = ma.fields.Float(
        load_default=SVG_MILLIMETRES.default,
        validate=validate.Range(min=SVG_MILLIMETRES.low, max=SVG_MILLIMETRES.high),
        metadata={"description": "width and height in millimetres, quiet zone included"},
    )


class LabelsIn(ma.Schema):
    """The passports to print: named, or every one an organisation issued (since a time)."""

    passports = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=1000)),
        validate=validate.Length(min=1, max=MAX_IDS),
        metadata={
            "description": "passport ids (`01/{gtin}/…`, or their Digital Link URIs), labels "
            "in this order; e.g. the `passports[].id` of a POST /passports:bulk answer"
        },
    )
    issuer = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "slug of the issuing organisation: all its passports"},
    )
    since = ma.fields.AwareDateTime(
        metadata={"description": "with `issuer`: only passports issued at or after this time"}
    )


def _qr(passport_id: str) -> str:
    """Return the Digital Link URI of an existing passport; NotFound names what is wrong."""
    link, _row = load_passport(db.session(), passport_id)
    return link.uri(ctx().base_url)


@blp.route("/passports/<passport_id:passport_id>/qr.svg")
class PassportQrSvg(MethodView):
    """The passport's QR code, to print."""

    @blp.arguments(SvgArgs, location="query")
    @blp.response(
        200,
        {"type": "string"},
        content_type="image/svg+xml",
        description="The SVG document",
        headers=_QR_HEADER_DOCS,
    )
    @blp.alt_response(404, response="NOT_FOUND", description="No such passport")
    def get(self, args: dict[str, Any], passport_id: str) -> Response:
        """Return the QR code of the passport's Digital Link URI as SVG, `size` mm square.

        Error correction level M, the 4-module quiet zone included; the viewBox counts
        modules, so the code scales without loss. Public, cacheable for a day.
        """
        svg = qr_svg(_qr(passport_id), args["size"])
        return Response(svg, mimetype="image/svg+xml", headers=QR_HEADERS)


@blp.route("/passports/<passport_id:passport_id>/qr.png")
class PassportQrPng(MethodView):
    """The passport's QR code, for screens and documents."""

    @blp.arguments(PngArgs, location="query")
    @blp.response(
        200,
        _BINARY,
        content_type="image/png",
        description="The PNG image",
        headers=_QR_HEADER_DOCS,
    )
    @blp.alt_response(404, response="NOT_FOUND", description="No such passport")
    def get(self, args: dict[str, Any], passport_id: str) -> Response:
        """Return the QR code of the passport's Digital Link URI as PNG, `size` pixels square.

        Error correction level M, the 4-module quiet zone included; every module is a whole
        number of pixels (the pixels left over widen the margin). Public, cacheable for a day.
        """
        png = qr_png(_qr(passport_id), args["size"])
        return Response(png, mimetype="image/png", headers=QR_HEADERS)


@blp.route("/labels")
class LabelSheet(MethodView):
    """Sheets of labels to print."""

    @authenticated
    @blp.doc(security=BEARER)
    @blp.arguments(LabelsIn)
    @blp.response(
        200,
        _BINARY,
        content_type="application/pdf",
        description="The label sheet (attachment)",
        headers={"Content-Disposition": {"schema": {"type": "string"}}},
    )
    @blp.alt_response(404, response="NOT_FOUND", description="A passport or issuer is unknown")
    def post(self, data: dict[str, Any]) -> Response:
        """Return an A4 PDF of labels: each the passport's QR code, product name and GS1
        identity (`(01) … (21) …`), 21 a page (3 × 7 labels of 63.5 × 38.1 mm).

        Send either `passports`, a list of at most 1,000 ids (to print what
        POST /passports:bulk issued, send the `id` of each of its `passports`), or `issuer`,
        an organisation's slug, for every passport it issued, optionally only those issued at
        or after `since` (the time just before a bulk registration prints that registration).
        A sheet holds at most 10,000 labels. Labels show public information only, but a
        sheet takes seconds to draw (about 7 s for 1,000 labels), so an API token is needed.
        """
        labels = labels_for(
            db.session(),
            ctx(),
            ids=data.get("passports"),
            issuer=data.get("issuer"),
            since=data.get("since"),
        )
        return Response(
            label_sheet(labels),
            mimetype="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="labels.pdf"'},
        )
