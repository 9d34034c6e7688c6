"""The write use cases as the API runs them: once per Idempotency-Key, then checkpointed.

Each function owns its transaction (the issuing services commit through the sequencer); the
caller passes `response`, the body a first answer has, which is what a retry gets back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from passport.core.errors import Conflict
from passport.core.product.access import Caller
from passport.services.context import ServiceContext
from passport.services.ledger import proofs
from passport.services.ledger.publisher import Publisher
from passport.services.passports import issue, read
from passport.services.passports.bulk import BulkRows
from passport.services.passports.idempotency import Idempotency, Remember, remembering, replay
from passport.services.passports.views import PassportView

Response = Callable[[list[PassportView]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Inclusion:
    """A checkpoint covering a fresh entry, and the entry's inclusion proof in its tree."""

    checkpoint: bytes
    proof: proofs.InclusionProof


@dataclass(frozen=True, slots=True)
class Written:
    """A write's answer: its body (first or replayed) and, when waited for, its inclusion."""

    body: dict[str, Any]
    inclusion: Inclusion | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """What every write needs besides its data: where, who, when, and how to answer."""

    sess: Session
    ctx: ServiceContext
    publisher: Publisher
    caller: Caller
    at: datetime
    idempotency: Idempotency | None = None


def issue_one(write: Write, data: dict[str, Any], *, wait: bool, response: Response) -> Written:
    """Issue one passport; with `wait`, answer with a checkpoint covering it."""

    def run(remember: Remember | None) -> Written:
        view = issue.issue_passport(
            write.sess, write.ctx, write.caller, data, at=write.at, remember=remember
        )
        return _logged(write, view, wait=wait, response=response)

    return _once(write, run, response)


def issue_many(write: Write, rows: BulkRows, *, response: Response) -> Written:
    """Issue every row's passport or none of them."""

    def run(remember: Remember | None) -> Written:
        views = issue.issue_passports(
            write.sess,
            write.ctx,
            write.caller,
            rows.rows,
            row_errors=rows.errors,
            at=write.at,
            remember=remember,
        )
        write.publisher.after_write()
        return Written(response(views))

    return _once(write, run, response)


def correct(
    write: Write, passport_id: str, product: dict[str, Any], *, wait: bool, response: Response
) -> Written:
    """Issue a new version of a passport superseding its current one."""

    def run(remember: Remember | None) -> Written:
        view = read.correct_passport(
            write.sess,
            write.ctx,
            write.caller,
            passport_id,
            product,
            at=write.at,
            remember=remember,
        )
        return _logged(write, view, wait=wait, response=response)

    return _once(write, run, response)


def _once(write: Write, run: Callable[[Remember | None], Written], response: Response) -> Written:
    """Run a write once per Idempotency-Key; a retry gets the stored response."""
    idem = write.idempotency
    if idem is None:
        return run(None)
    stored = replay(write.sess, idem)
    write.sess.commit()  # end the reading transaction: the write takes the log's lock anew
    if stored is not None:
        return Written(stored)
    try:
        return run(remembering(idem, response, write.at))
    except Conflict:
        stored = replay(write.sess, idem)  # a concurrent retry won the race: answer as it did
        if stored is None:
            raise
        return Written(stored)


def _logged(write: Write, view: PassportView, *, wait: bool, response: Response) -> Written:
    """Publish a checkpoint when due; with `wait`, one covering the entry and its proof."""
    body = response([view])
    if not wait or view.ledger_index is None:
        write.publisher.after_write()
        return Written(body)
    published = write.publisher.covering(view.ledger_index)
    proof = proofs.inclusion(write.sess, view.ledger_index, published.size)
    return Written(body, Inclusion(published.note, proof))
