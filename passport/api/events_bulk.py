"""Sorting lines: many lifecycle events for many passports in one request."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from passport.api.auth import authenticated, required_caller
from passport.api.bulk import uploaded_csv
from passport.api.events import event_body
from passport.api.passports import BEARER, IDEMPOTENCY, write_of
from passport.api.problems import body_of, status_of
from passport.api.schemas import BulkEventsOut
from passport.core.errors import InvalidInput
from passport.services.events import writes
from passport.services.events.bulk import Outcome
from passport.services.events.sheets import event_rows

blp = Blueprint(
    "events-bulk", __name__, url_prefix="/api/v1", description="Lifecycle events in bulk"
)

BULK_EVENTS_BODY: dict[str, Any] = {
    "required": True,
    "description": "Up to 10,000 events: a JSON array of events as for POST …/events, each with "
    "`passport` (its Digital Link path or URI), or CSV (RFC 4180, UTF-8, a header row) with "
    "columns passport, kind, then one column per scalar of the event named by its path "
    "(`place.country`, `facility.gln`, `parts_replaced.1.part`); multipart uploads use the "
    "field `file`. Remanufacture and recycling are recorded one at a time.",
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
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


def _bulk_items() -> tuple[list[object], dict[int, dict[str, list[str]]]]:
    """The items of a bulk body and the errors of CSV rows that cannot be read."""
    text = uploaded_csv(request)
    if text is not None:
        rows = event_rows(text)
        items: list[object] = [row for row, _ in rows]
        return items, {n: errors for n, (_, errors) in enumerate(rows, start=1) if errors}
    body = event_body()
    if not isinstance(body, list):
        raise InvalidInput("send a JSON array of events", errors={"body": ["expected an array"]})
    return body, {}


def _outcomes(outcomes: list[Outcome], base_url: str) -> dict[str, Any]:
    items = []
    for outcome in outcomes:
        item: dict[str, Any] = {"item": outcome.item, "passport": outcome.passport}
        if outcome.error is None:
            item |= {
                "status": 201,
                "kind": outcome.kind,
                "sequence": outcome.sequence,
                "ledger_index": outcome.ledger_index,
                "lifecycle": outcome.status,
            }
        else:
            problem = body_of(outcome.error, base_url)
            item |= {"status": status_of(outcome.error), "problem": problem}
        items.append(item)
    recorded = sum(1 for o in outcomes if o.error is None)
    return {"recorded": recorded, "refused": len(outcomes) - recorded, "items": items}


@blp.route("/events:bulk")
class BulkEvents(MethodView):
    """Record many events for many passports (sorting lines, scanner exports)."""

    @authenticated
    @blp.doc(security=BEARER, requestBody=BULK_EVENTS_BODY, **IDEMPOTENCY)
    @blp.response(200, BulkEventsOut)
    def post(self) -> Response:
        """Record each valid event, in order, and name each refused one with its problem.

        Answers 200 with one outcome per item (`status` 201 for a recorded one, the problem's
        status otherwise). Sent again with the same Idempotency-Key, nothing is recorded twice.
        """
        write = write_of(required_caller())
        items, row_errors = _bulk_items()
        # The answer is made inside the write (kept for retries), where no request is at hand.
        base_url = write.ctx.base_url
        written = writes.record_many(
            write, items, row_errors, response=lambda outcomes: _outcomes(outcomes, base_url)
        )
        return Response(written.text, status=200, mimetype="application/json")
