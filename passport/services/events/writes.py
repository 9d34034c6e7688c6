"""Record an event as the API does: once per Idempotency-Key, then checkpointed on request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from passport.services.events.bulk import record_events
from passport.services.events.record import record_event
from passport.services.passports.idempotency import Remember, encode
from passport.services.passports.writes import Response, Write, Written, answer_logged, once


def record(write: Write, path: str, body: object, *, wait: bool, response: Response) -> Written:
    """Record one event; with `wait`, answer with a checkpoint covering it."""

    def run(remember: Remember | None) -> Written:
        view = record_event(
            write.sess, write.ctx, write.caller, path, body, at=write.at, remember=remember
        )
        return answer_logged(write, view, wait=wait, response=response)

    return once(write, run, response, wait=wait)


def record_many(
    write: Write,
    items: Sequence[object],
    row_errors: Mapping[int, Mapping[str, list[str]]],
    *,
    response: Response,
) -> Written:
    """Record every valid item of a bulk request; a retry with the key records nothing again."""

    def run(remember: Remember | None) -> Written:
        outcomes = record_events(
            write.sess,
            write.ctx,
            write.caller,
            items,
            at=write.at,
            row_errors=row_errors,
            remember=remember,
        )
        write.publisher.after_write()
        return Written(encode(response(outcomes)))

    return once(write, run, response, wait=False)
