"""Marks: what the service checked of each logged credential a page shows.

A mark says two things of one log entry, both checked here on every page (and again in the
reader's browser by `web/static/verify.js`, which trusts none of this):

- **signed**: the credential's `eddsa-jcs-2022` proof verifies with the key its
  verification method names, and the log says that key could sign at the entry's position
  (registered before it, not retired or revoked before it, not compromised since before it);
- **included**: the entry lies in the tree of the newest signed checkpoint, by an RFC 9162
  inclusion proof from the stored tree to that checkpoint's root.

Both answers are fixed by the log for one checkpoint and one state of the key entries, so
they are kept (bounded, per database) under the checkpoint's root hash, the entry's index,
its leaf hash and the number of key entries seen: a new checkpoint or a new revocation makes
new marks, and so does an entry whose stored bytes changed (it is hashed on every look); a
page view of an unchanged passport verifies nothing again. Key entries are read once per
process and then only the entries appended since (`_LogWatch`): the log is append-only.

A mark also names the entry that revoked the signing key, if one did, so that a reader's
browser can check the key's validity at the entry's position through the log, as the DID
document (which lists a revoked key without saying where in the log) asks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from passport.core.errors import LedgerInconsistent, PassportError
from passport.core.log.keylog import KeyHistory
from passport.core.log.kinds import KEY_KINDS, entry_bytes
from passport.core.log.merkle import leaf_hash, verify_inclusion
from passport.core.log.note import Checkpoint, parse_checkpoint_body
from passport.core.signing.dataintegrity import signed_parts, verify_credential
from passport.services.ledger.checkpoints import latest
from passport.services.ledger.log import committed_size
from passport.services.ledger.proofs import inclusion
from passport.store.sql import driver_query, stored_bytes


@dataclass(frozen=True, slots=True)
class Mark:
    """What the service found of one logged credential."""

    index: int
    signed: bool
    included: bool
    checkpoint_size: int | None
    reason: str | None = None
    key_revoked_at: int | None = None  # the entry that revoked the signing key, if any

    @property
    def ok(self) -> bool:
        """Whether both checks held."""
        return self.signed and self.included


@dataclass(frozen=True, slots=True)
class Shown:
    """A logged credential to mark: its entry index and kind, its JCS bytes, parsed."""

    index: int
    kind: str
    text: bytes
    credential: Mapping[str, Any]


_KEY_ROWS = "SELECT idx, kind, entry FROM ledger_entry WHERE idx >= ? AND idx < ? AND kind IN ({})"
_KEY_SQL = _KEY_ROWS.format(", ".join(f"'{kind.value}'" for kind in sorted(KEY_KINDS)))


class _LogWatch:
    """The key entries of one database's log, read incrementally (the log only grows), and
    the marks made under them."""

    def __init__(self) -> None:
        self.history = KeyHistory()
        self.read_to = 0
        self.seen = 0
        self.lock = threading.Lock()
        self.marks: dict[tuple[bytes, int, bytes, int], Mark] = {}

    def update(self, conn: Connection, size: int) -> tuple[KeyHistory, int]:
        """Take in the key entries of the first `size` (the committed log's size, read by the
        caller) not taken in yet; return the history and how many key entries it holds."""
        with self.lock:
            if size > self.read_to:
                rows = driver_query(conn, _KEY_SQL, (self.read_to, size))
                for index, kind, entry in sorted(rows):
                    self.history.apply(index, kind, orjson.loads(stored_bytes(entry))["key"])
                    self.seen += 1
                self.read_to = size
            return self.history, self.seen


_watches: WeakKeyDictionary[Engine, _LogWatch] = WeakKeyDictionary()
_MARKS_KEPT = 1 << 16
_lock = threading.Lock()


def _watch(engine: Engine) -> _LogWatch:
    with _lock:
        watch = _watches.get(engine)
        if watch is None:
            watch = _watches[engine] = _LogWatch()
        return watch


def key_version(conn: Connection, size: int) -> int:
    """Return how many key entries the first `size` entries of the log hold (read
    incrementally): a mark made under one number may differ from one made under another (a
    revocation). `size` is the committed log's size, read by the caller."""
    return _watch(conn.engine).update(conn, size)[1]


def newest_checkpoint(sess: Session) -> Checkpoint | None:
    """Return the newest signed checkpoint, parsed (its signature is the log key's own)."""
    row = latest(sess)
    if row is None:
        return None
    body, _, _ = row.note.encode().partition(b"\n\n")
    return parse_checkpoint_body(body + b"\n")


def marks_for(
    sess: Session, shown: Iterable[Shown], checkpoint: Checkpoint | None
) -> dict[int, Mark]:
    """Return the mark of each credential shown, by entry index, against `checkpoint` (the
    newest, `newest_checkpoint`, read once by the caller for the whole page)."""
    watch = _watch(sess.get_bind().engine)
    history, version = watch.update(sess.connection(), committed_size(sess))
    root = checkpoint.root_hash if checkpoint else b""
    marks: dict[int, Mark] = {}
    for item in shown:
        leaf = leaf_hash(entry_bytes(item.kind, item.text))
        key = (root, item.index, leaf, version)
        mark = watch.marks.get(key)
        if mark is None:
            mark = _mark(sess, history, checkpoint, item, leaf)
            with watch.lock:
                if len(watch.marks) >= _MARKS_KEPT:
                    watch.marks.clear()
                watch.marks[key] = mark
        marks[item.index] = mark
    return marks


def _mark(
    sess: Session, history: KeyHistory, checkpoint: Checkpoint | None, item: Shown, leaf: bytes
) -> Mark:
    size = checkpoint.size if checkpoint else None
    method = str(item.credential.get("proof", {}).get("verificationMethod", ""))
    revoked = history.revocation_of(method)
    try:
        _check_signature(history, item, method)
    except PassportError as exc:
        return Mark(item.index, False, False, size, exc.detail, revoked)
    if checkpoint is None or item.index >= checkpoint.size:
        return Mark(item.index, True, False, size, "not yet in a signed checkpoint", revoked)
    try:
        proof = inclusion(sess, item.index, checkpoint.size)
        if leaf != proof.leaf_hash:
            raise LedgerInconsistent("the stored leaf hash differs from the entry's")
        verify_inclusion(
            index=item.index,
            size=checkpoint.size,
            leaf_hash=leaf,
            proof=proof.hashes,
            root=checkpoint.root_hash,
        )
    except PassportError as exc:
        return Mark(item.index, True, False, size, exc.detail, revoked)
    return Mark(item.index, True, True, size, None, revoked)


def _check_signature(history: KeyHistory, item: Shown, method: str) -> None:
    """Verify the credential's proof with the key the log lets sign at its index."""
    credential = item.credential
    public_key = history.key_for(method, index=item.index)
    if history.controller_of(method) != credential.get("issuer"):
        raise LedgerInconsistent(f"key {method} is not the issuer's")
    verify_credential(
        credential,
        resolve_key=lambda _method: public_key,
        signed=signed_parts(item.text, credential),
    )
