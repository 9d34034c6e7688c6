"""RFC 9457 problem details: the one error shape of every HTTP response."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Response, current_app, json
from werkzeug.exceptions import HTTPException

from passport.core import errors as domain
from passport.core.limits import LimitExceeded
from passport.services.passports.issue import BulkRejected

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# Every problem document is bounded, whatever its producer echoes: a quoted value keeps its
# first QUOTED characters, then "…"; a message or detail at most MESSAGE characters; a field
# path at most FIELD; at most FIELDS paths per `errors` and MESSAGES messages per path.
QUOTED, MESSAGE, FIELD, FIELDS, MESSAGES = 40, 400, 100, 100, 20

# One place maps domain errors to statuses; anything not listed is a 400.
STATUS = {
    domain.BadIdentifier: 400,  # before InvalidInput, its parent: the resolver's 400
    LimitExceeded: 422,
    domain.InvalidInput: 422,
    domain.NotFound: 404,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.Conflict: 409,
    domain.TooManyAttempts: 429,
    domain.InvalidKey: 422,
    domain.SignatureInvalid: 422,
    domain.LedgerInconsistent: 503,
}


class RowErrorSchema(ma.Schema):
    """Errors of one row of a bulk request."""

    row = ma.fields.Integer(metadata={"description": "1-based row number (CSV: data row)"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem detail (documentation only; responses are built by `problem`)."""

    type = ma.fields.String(metadata={"description": "stable URI naming the kind of problem"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "field path → messages"},
    )
    rows = ma.fields.List(ma.fields.Nested(RowErrorSchema))


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a problem+json response."""
    body = _body(status, code, title, detail, errors, current_app.config["DPP_BASE_URL"])
    for key, value in (extra or {}).items():
        body[key] = _bounded_rows(value) if key == "rows" else value
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def bounded(text: str) -> str:
    """Return `text` with every long quoted value cut to its first characters, and capped.

    Quotes are paired left to right ('…' or "…", as repr and the validators write them).
    """
    text, out, at, search = str(text), [], 0, 0
    for _ in range(MESSAGE):  # each round keeps at least one character
        found = [i for i in (text.find("'", search), text.find('"', search)) if i >= 0]
        if not found:
            break
        start = min(found)
        end = text.find(text[start], start + 1)
        inner = text[start + 1 : end if end >= 0 else len(text)]
        out += [text[at : start + 1], inner if len(inner) <= QUOTED else inner[:QUOTED] + "…"]
        if end < 0:  # a value cut before its closing quote
            at = len(text)
            break
        at, search = end, end + 1
    out.append(text[at : at + MESSAGE])
    cut = "".join(out)
    return cut if len(cut) <= MESSAGE else cut[: MESSAGE - 1] + "…"


def bounded_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return `errors` (field path → messages) with paths, messages and their number bounded."""
    out: dict[str, list[str]] = {}
    items = list(errors.items())
    for path, messages in items[:FIELDS]:
        key = str(path) if len(str(path)) <= FIELD else str(path)[: FIELD - 1] + "…"
        listed = messages if isinstance(messages, list | tuple) else [messages]
        kept = out.setdefault(key, [])
        kept += [bounded(m) for m in listed[: MESSAGES - len(kept)]]
        if len(listed) > MESSAGES:
            kept[-1:] = [f"… and {len(listed) - MESSAGES + 1} more messages"]
    if len(items) > FIELDS:
        out["…"] = [f"{len(items) - FIELDS} more fields have errors"]
    return out


def _bounded_rows(rows: Any) -> Any:
    if not isinstance(rows, list):
        return rows
    return [{**row, "errors": bounded_errors(row.get("errors") or {})} for row in rows]


def status_of(error: domain.PassportError) -> int:
    """The HTTP status of a domain error."""
    return next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)


def body_of(error: domain.PassportError, base_url: str) -> dict[str, Any]:
    """The problem detail of a domain error, as a JSON object (for one item of a bulk answer;
    made where no request is at hand, in the write's transaction, so the base URL is given)."""
    return _body(status_of(error), error.code, error.title, error.detail, error.errors, base_url)


def _body(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Mapping[str, Any] | None,
    base_url: str,
) -> dict[str, Any]:
    """The members every problem detail has, bounded."""
    body: dict[str, Any] = {
        "type": f"{base_url}/problems/{code}",
        "title": title,
        "status": status,
        "detail": bounded(detail),
    }
    if errors:
        body["errors"] = bounded_errors(errors)
    return body


def from_domain(error: domain.PassportError) -> Response:
    """Translate a domain error."""
    status = status_of(error)
    extra: dict[str, Any] = {}
    if isinstance(error, BulkRejected):
        extra["rows"] = [{"row": n, "errors": e} for n, e in error.rows.items()]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(error, domain.TooManyAttempts):
        headers = {"Retry-After": str(error.retry_after)}
    return problem(
        status,
        error.code,
        error.title,
        error.detail,
        errors=error.errors,
        extra=extra,
        headers=headers,
    )


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn webargs/marshmallow nested messages into `path: [messages]`."""
    if isinstance(messages, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": list(messages)}
    return {prefix or "body": [str(messages)]}


def from_http(error: HTTPException) -> Response:
    """Translate a werkzeug/webargs HTTP error (404 route, 405, 413, 422 from parsing)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    errors = {}
    if messages:
        # Request-body locations ("json", "form") add nothing a client can act on.
        flat = _flatten(messages)
        errors = {
            k.removeprefix("json.").removeprefix("files.").removeprefix("form."): v
            for k, v in flat.items()
        }
    if status == 422:
        return problem(
            422,
            "invalid-input",
            "Invalid input",
            "the request is invalid; see errors",
            errors=errors,
        )
    code = (error.name or "error").lower().replace(" ", "-")
    detail = data.get("message") or error.description or error.name
    # Keep what the exception says in its headers: Allow on a 405, WWW-Authenticate, …
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(status, code, error.name, str(detail), errors=errors, headers=headers)


def from_unexpected(error: Exception) -> Response:
    """Log an unexpected error and answer 500 without any internals."""
    log.exception("unhandled error", exc_info=error)
    return problem(
        500, "internal-error", "Internal error", "an unexpected error occurred; it was logged"
    )
