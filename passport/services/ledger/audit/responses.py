"""`dpp audit`: the responses kept for retried writes (Idempotency-Key) state only logged data.

A retry with the same key gets the first response back from the `idempotency` table, so that
table is served from like the history: every passport a kept response names must be a logged
version, and every field of it (the credentials the issuer was shown included) must be what
the history holds for that version.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from passport.core.errors import InvalidInput, LedgerInconsistent, PassportError
from passport.core.log.kinds import credential_of
from passport.core.log.merkle import verify_inclusion
from passport.core.log.note import open_checkpoint
from passport.core.product.gs1 import parse_path
from passport.services.ledger.audit.tree import AuditFailed
from passport.services.ledger.logkey import LogKey
from passport.store.packing import unpack
from passport.store.sql import stored_bytes

PAGE = 500  # kept responses read per query, and passports looked up per query
_RESPONSES = text(
    "SELECT org_id, key, response FROM idempotency"
    " WHERE org_id > :org OR (org_id = :org AND key > :key) ORDER BY org_id, key LIMIT :n"
)
_VERSIONS = text(
    "SELECT h.passport_id, h.version, h.ledger_index, h.sequence, h.kind, e.entry, p.category,"
    " p.granularity, h.entry_hash FROM history_entry h JOIN passport p ON p.id = h.passport_id"
    " JOIN ledger_entry e ON e.idx = h.ledger_index"
    " WHERE h.passport_id IN :ids AND h.version IS NOT NULL"
).bindparams(bindparam("ids", expanding=True))
_RESTRICTED = text(
    "SELECT h.passport_id, h.version, r.tier, r.packed FROM restricted_credential r"
    " JOIN history_entry h ON h.passport_id = r.passport_id AND h.sequence = r.sequence"
    " WHERE h.passport_id IN :ids AND h.version IS NOT NULL"
).bindparams(bindparam("ids", expanding=True))

Named = tuple[str, dict[str, Any]]  # (whose response, one passport it names)


def check_kept_responses(sess: Session, base_url: str, log_key: LogKey) -> int:
    """Raise AuditFailed naming the entry a kept response misstates; return how many there are."""
    count, org, key = 0, -1, ""
    named: list[Named] = []
    while True:
        page = sess.execute(_RESPONSES, {"org": org, "key": key, "n": PAGE}).all()
        for org, key, response in page:
            who = f"the response kept for Idempotency-Key {key!r} of organisation {org}"
            named += _named(sess, who, response)
        count += len(page)
        if len(named) >= PAGE or (named and len(page) < PAGE):
            for at in range(0, len(named), PAGE):  # a bulk write's names up to 10,000
                _check(sess, named[at : at + PAGE], base_url, log_key)
            named = []
        if len(page) < PAGE:
            return count


_EVENT = text(
    "SELECT h.ledger_index, h.kind, e.entry FROM history_entry h"
    " JOIN ledger_entry e ON e.idx = h.ledger_index"
    " WHERE h.passport_id = :p AND h.sequence = :s"
)


def _named(sess: Session, who: str, response: str) -> list[Named]:
    """Check a kept event response against the history now; return the passport versions a
    response names, for `_check`."""
    try:
        body = json.loads(response)
    except ValueError:
        raise AuditFailed(f"{who} is not a response this service writes") from None
    if isinstance(body, dict) and "recorded" in body:  # a bulk event request's outcomes
        for item in body.get("items", []):
            if item.get("status") == 201:
                _check_event(sess, who, item, full=False)
        return []
    if isinstance(body, dict) and "passport" in body and "sequence" in body:  # one event
        _check_event(sess, who, body, full=True)
        return [(who, body["successor"])] if "successor" in body else []
    return _passports(who, response)


def _check_event(sess: Session, who: str, item: dict[str, Any], *, full: bool) -> None:
    """An event a kept response names is logged as it says (and, in full, states the logged
    credential)."""
    row = sess.execute(_EVENT, {"p": item.get("passport"), "s": item.get("sequence")}).first()
    kind = f"event:{item.get('kind')}"
    if row is None or row[0] != item.get("ledger_index") or row[1] != kind:
        raise AuditFailed(f"{who} names an event that is not logged as it says")
    if full and item.get("credential") != json.loads(_credential(row[2], kind, row[0])):
        raise AuditFailed(f"entry {row[0]}: {who} differs from the log (credential)", row[0])


def _passports(who: str, response: str) -> list[Named]:
    """The passports a kept response names: one for a single write, each of a bulk one."""
    try:
        body = json.loads(response)
        items = body.get("passports", [body])
        if all(type(item["id"]) is str and type(item["version"]) is int for item in items):
            return [(who, item) for item in items]
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise AuditFailed(f"{who} is not a response this service writes")


def _check(sess: Session, named: list[Named], base_url: str, key: LogKey) -> None:
    """Compare each named passport version with the history, looked up by id and version."""
    ids = sorted({item["id"] for _who, item in named})
    versions = {(row[0], row[1]): row for row in sess.execute(_VERSIONS, {"ids": ids})}
    restricted: dict[tuple[str, int], dict[str, Any]] = {}
    for passport_id, version, tier, packed in sess.execute(_RESTRICTED, {"ids": ids}):
        credential = json.loads(unpack(stored_bytes(packed)))
        restricted.setdefault((passport_id, version), {})[tier] = credential
    for who, item in named:
        version_id = (item["id"], item["version"])
        if version_id not in versions:
            index = item.get("ledger_index")
            index = index if type(index) is int else None
            raise AuditFailed(
                ("" if index is None else f"entry {index}: ")
                + f"{who} names version {item['version']} of passport {item['id']}, which is"
                " not logged",
                index,
            )
        _id, version, index, sequence, kind, entry, category, granularity, leaf = versions[
            version_id
        ]
        try:
            uri = parse_path(item["id"]).uri(base_url)
        except InvalidInput as exc:
            detail = f"entry {index}: passport id {item['id']!r}: {exc.detail}"
            raise AuditFailed(detail, index) from exc
        expected: dict[str, Any] = {
            "id": item["id"],
            "uri": uri,
            "version": version,
            "ledger_index": index,
        }
        if "credential" in item:  # a single write's: all the issuer was shown
            expected |= {
                "category": category,
                "granularity": granularity,
                "sequence": sequence,
                "credential": json.loads(_credential(entry, kind, index)),
                "restricted": restricted.get(version_id, {}),
            }
        if "inclusion" in item and "credential" in item:  # a ?wait=checkpoint write's answer
            _check_inclusion(item["inclusion"], index, bytes.fromhex(leaf), key, who)
            expected["inclusion"] = item["inclusion"]
        if item != expected:
            wrong = sorted(
                k for k in expected.keys() | item.keys() if item.get(k) != expected.get(k)
            )
            raise AuditFailed(
                f"entry {index}: {who} differs from the log ({', '.join(wrong)})", index
            )


def _credential(entry: object, kind: str, index: int) -> bytes:
    """The public credential a history row serves: the one inside its ledger entry."""
    try:
        return credential_of(stored_bytes(entry), kind)
    except PassportError as exc:
        raise AuditFailed(f"entry {index}: {exc.detail}", index) from exc


def _check_inclusion(inclusion: object, index: int, leaf: bytes, key: LogKey, who: str) -> None:
    """A kept `inclusion` proves the very entry in a checkpoint the log key signed."""
    try:
        if not isinstance(inclusion, dict) or inclusion["index"] != index:
            raise LedgerInconsistent("it names another entry")
        checkpoint = open_checkpoint(
            inclusion["checkpoint"].encode(), name=key.name, public_key=key.public_key
        )
        if inclusion["tree_size"] != checkpoint.size:
            raise LedgerInconsistent("its tree size is not its checkpoint's")
        if base64.b64decode(inclusion["leaf_hash"], validate=True) != leaf:
            raise LedgerInconsistent("its leaf hash is not the entry's")
        verify_inclusion(
            index=index,
            size=checkpoint.size,
            leaf_hash=leaf,
            proof=[base64.b64decode(h, validate=True) for h in inclusion["hashes"]],
            root=checkpoint.root_hash,
        )
    except (PassportError, KeyError, TypeError, AttributeError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, PassportError) else repr(exc)
        raise AuditFailed(f"entry {index}: {who}: its inclusion proof: {detail}", index) from exc
