"""Idempotent writes: a retried request (same Idempotency-Key) never appends twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from passport.core.errors import Conflict, InvalidInput
from passport.store.tables import IdempotencyRow

# Keeps a write's answer in its own transaction, given what it logged (versions or events).
Remember = Callable[[Session, list[Any]], None]


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A client's key for one write, and a digest of the request it names."""

    org_id: int
    key: str
    digest: str

    @classmethod
    def of(cls, org_id: int, key: str, method: str, path: str, body: bytes) -> Idempotency:
        """Describe a request; keys are 1-200 printable ASCII characters."""
        if not 0 < len(key) <= 200 or not key.isascii() or not key.isprintable():
            raise InvalidInput(
                "bad Idempotency-Key", errors={"Idempotency-Key": ["1-200 printable ASCII"]}
            )
        digest = hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()
        return cls(org_id, key, digest)


def encode(body: dict[str, Any]) -> str:
    """Return the JSON text a write answers with, and keeps for its retries."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def replay(sess: Session, idem: Idempotency) -> str | None:
    """Return the kept response text of an earlier identical request, if there was one."""
    row = sess.get(IdempotencyRow, (idem.org_id, idem.key))
    if row is None:
        return None
    if row.request_digest != idem.digest:
        raise Conflict(
            "this Idempotency-Key was used for a different request",
            errors={"Idempotency-Key": ["already used for another request"]},
        )
    stored: str = row.response
    return stored


def keep(sess: Session, idem: Idempotency, kept: str, text: str) -> str:
    """Replace the kept response `kept` with the whole answer `text` (`inclusion` added).

    Only the first to complete it wins (a concurrent retry may race the first request); return
    the text kept in the end, which is what this request answers with. Committed.
    """
    sess.execute(
        update(IdempotencyRow)
        .where(
            col(IdempotencyRow.org_id) == idem.org_id,
            col(IdempotencyRow.key) == idem.key,
            col(IdempotencyRow.response) == kept,
        )
        .values(response=text)
    )
    sess.commit()
    stored = replay(sess, idem)
    sess.commit()
    return text if stored is None else stored


def remembering(
    idem: Idempotency, response: Callable[[list[Any]], dict[str, Any]], at: datetime
) -> Remember:
    """Return a hook that stores the response in the write's own transaction."""

    def remember(sess: Session, views: list[Any]) -> None:
        sess.add(
            IdempotencyRow(
                org_id=idem.org_id,
                key=idem.key,
                request_digest=idem.digest,
                response=encode(response(views)),
                created_at=at,
            )
        )

    return remember
