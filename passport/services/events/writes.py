"""Record an event as the API does: once per Idempotency-Key, then checkpointed on request."""

from __future__ import annotations

from passport.services.events.record import record_event
from passport.services.passports.idempotency import Remember
from passport.services.passports.writes import Response, Write, Written, answer_logged, once


def record(write: Write, path: str, body: object, *, wait: bool, response: Response) -> Written:
    """Record one event; with `wait`, answer with a checkpoint covering it."""

    def run(remember: Remember | None) -> Written:
        view = record_event(
            write.sess, write.ctx, write.caller, path, body, at=write.at, remember=remember
        )
        return answer_logged(write, view, wait=wait, response=response)

    return once(write, run, response, wait=wait)
