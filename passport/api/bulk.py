"""Read a bulk request body (JSON array or CSV) into envelope rows, naming every bad row."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Request

from passport.api.schemas import PassportIn
from passport.core.errors import InvalidInput
from passport.services.context import ServiceContext
from passport.services.passports.bulk import BulkRows, csv_rows

BULK_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "A JSON array of passports (as for POST /passports), or CSV (RFC 4180, "
    "UTF-8, a header row): columns category, granularity, gtin, variant, lot, serial, then one "
    "column per scalar of the product data, named by its path: nested fields dotted "
    "(`dimensions.width_mm`, `care_instructions.text.en`), array items numbered from 1 without "
    "gaps (`fibre_composition.1.fibre`, `fibre_composition.1.percent`, "
    "`care_instructions.symbols.1`). Cells are read by the schema's type (integer, true/false, "
    "text as sent); an empty cell means absent; no cell holds JSON. "
    "GET /templates/{category}.csv gives every column with an example row. Multipart uploads "
    "use the field `file`.",
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/PassportIn"}}
        },
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}

_ENVELOPE = PassportIn()


def uploaded_csv(request: Request) -> str | None:
    """The CSV text of a bulk body (text/csv, or a multipart upload's `file`); None for JSON."""
    if request.mimetype == "text/csv":
        return _decode(request.get_data())
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("no CSV file uploaded", errors={"file": ["required"]})
        return _decode(upload.read())
    return None


def read_bulk_rows(request: Request, ctx: ServiceContext) -> BulkRows:
    """Return the rows of the body with envelope errors per row; never raise for one bad row."""
    text = uploaded_csv(request)
    if text is not None:
        return csv_rows(text, ctx, load_envelope)
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput(
            "body is not JSON or CSV", errors={"body": ["send a JSON array or text/csv"]}
        )
    if not isinstance(body, list):
        raise InvalidInput("body must be a JSON array", errors={"body": ["expected an array"]})
    rows = BulkRows()
    for number, raw in enumerate(body, start=1):
        rows.add(number, *load_envelope(raw))
    return rows


def load_envelope(raw: object) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    try:
        return _ENVELOPE.load(raw), {}  # type: ignore[arg-type]
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"row": exc.messages}
        return None, {str(k): [str(m) for m in _as_list(v)] for k, v in messages.items()}


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _decode(data: bytes) -> str:
    try:
        # utf-8-sig: spreadsheet programs often write a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("CSV must be UTF-8", errors={"body": ["not UTF-8"]}) from None
