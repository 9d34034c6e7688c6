"""The write use cases as the API runs them: once per Idempotency-Key, then checkpointed.

Each function owns its transaction (the issuing services commit through the sequencer); the
caller passes `response`, the body a first answer has. A write answers with `Written.text`,
the exact JSON text sent; with an Idempotency-Key that text is kept, and a retry gets it back
byte for byte. A write that waits for a checkpoint keeps its body in the write's transaction
and, once the checkpoint is there, the whole answer with `inclusion`; should the process stop
in between, the first retry completes it (the first answer was never sent).
"""

from __future__ import annotations

import base64
import json
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
from passport.services.passports.idempotency import (
    Idempotency,
    Remember,
    encode,
    keep,
    remembering,
    replay,
)

# The body of a write's answer, made from what it logged (passport versions or events).
Response = Callable[[list[Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Written:
    """A write's answer: the exact JSON text sent first, and again to every retry."""

    text: str


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
        return answer_logged(write, view, wait=wait, response=response)

    return once(write, run, response, wait=wait)


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
        return Written(encode(response(views)))

    return once(write, run, response, wait=False)


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
        return answer_logged(write, view, wait=wait, response=response)

    return once(write, run, response, wait=wait)


def once(
    write: Write, run: Callable[[Remember | None], Written], response: Response, *, wait: bool
) -> Written:
    """Run a write once per Idempotency-Key; a retry gets the kept response."""
    idem = write.idempotency
    if idem is None:
        return run(None)
    stored = replay(write.sess, idem)
    write.sess.commit()  # end the reading transaction: the write takes the log's lock anew
    if stored is None:
        try:
            return run(remembering(idem, response, write.at))
        except Conflict:
            stored = replay(write.sess, idem)  # a concurrent retry won the race: answer as it
            if stored is None:
                raise
    body = json.loads(stored)
    if wait and "inclusion" not in body:  # the first answer was never sent: complete it
        return answer_logged(write, None, wait=True, response=response, body=body, kept=stored)
    return Written(stored)


def answer_logged(
    write: Write,
    view: object | None,
    *,
    wait: bool,
    response: Response,
    body: dict[str, Any] | None = None,
    kept: str | None = None,
) -> Written:
    """Publish a checkpoint when due; with `wait`, one covering the entry and its proof."""
    if body is None:
        body = response([view] if view is not None else [])
    kept = encode(body) if kept is None else kept
    index = body.get("ledger_index")
    if not wait or type(index) is not int:
        write.publisher.after_write()
        return Written(encode(body))
    published = write.publisher.covering(index)
    proof = proofs.inclusion(write.sess, index, published.size)
    text = encode({**body, "inclusion": _inclusion(published.note, proof)})
    if write.idempotency is not None:
        text = keep(write.sess, write.idempotency, kept, text)
    return Written(text)


def _inclusion(checkpoint: bytes, proof: proofs.InclusionProof) -> dict[str, Any]:
    """The `inclusion` member: the checkpoint covering the entry and the entry's proof."""
    return {
        "checkpoint": checkpoint.decode(),
        "index": proof.index,
        "tree_size": proof.tree_size,
        "leaf_hash": _b64(proof.leaf_hash),
        "hashes": [_b64(h) for h in proof.hashes],
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
