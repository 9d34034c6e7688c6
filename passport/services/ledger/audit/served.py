"""`dpp audit`: what is served from a range of the log is what the log holds.

The history rows that serve a range's entries (versions and events) must point at them as the
passports they are about and chain to the entries before them; every restricted credential
served must be bound by a digest its logged public credential carries (and, on request, carry
a valid signature of its own).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from passport.core.errors import PassportError
from passport.core.log.keylog import KeyHistory
from passport.core.log.kinds import EntryKind, is_event
from passport.core.product.credentials import digest_sri
from passport.core.signing.dataintegrity import verify_credential
from passport.core.signing.did import did_web
from passport.store.packing import unpack
from passport.store.sql import driver_query, stored_bytes

Failure = tuple[int, str]  # (the first bad entry's index, what is wrong)
# A history entry's previousEntry, its restricted digests, the subject (Digital Link URI) it
# is about, its issuer's DID, and the status-list index its credential names.
Logged = tuple[str | None, dict[str, str], str | None, str | None, int | None]


def detail(exc: BaseException) -> str:
    """Return what a failed check says: a domain error's detail, or the exception's repr."""
    return exc.detail if isinstance(exc, PassportError) else repr(exc)


@functools.cache
def loaded_key(raw: bytes) -> Ed25519PublicKey:
    """Load each public key once per worker, not once per signature."""
    return Ed25519PublicKey.from_public_bytes(raw)


# A passport's public credential is served from its ledger entry itself (read through
# history_entry.ledger_index), so what is checked here is the row that points at it: the
# entry is a history entry of the row's kind about the row's passport, the row's entry_hash
# (the next entry's previousEntry) is the entry's leaf hash, and the row chains to the entry
# before it. The previous row comes along for the chain check, and the version number the
# history had before the row: the API serves the row with the highest sequence that has a
# version. That number is the previous row's, unless a correction follows an event: then it
# is looked up (an indexed range of the passport's own rows).
_HISTORY_SQL = (
    "SELECT h.passport_id, h.sequence, h.ledger_index, h.entry_hash, h.kind = e.kind,"
    " p.entry_hash, p.ledger_index, h.version, h.kind, o.slug, h.status_index,"
    " CASE WHEN h.version IS NULL OR p.sequence IS NULL OR p.version IS NOT NULL THEN p.version"
    " ELSE (SELECT MAX(x.version) FROM history_entry x WHERE x.passport_id = h.passport_id"
    " AND x.sequence < h.sequence) END"
    " FROM history_entry h JOIN ledger_entry e ON e.idx = h.ledger_index"
    " LEFT JOIN history_entry p ON p.passport_id = h.passport_id AND p.sequence = h.sequence - 1"
    " LEFT JOIN organisation o ON o.id = h.org_id"
    " WHERE h.ledger_index >= ? AND h.ledger_index < ?"
)


def check_history(
    conn: Connection,
    start: int,
    end: int,
    leaves: list[bytes],
    logged: Mapping[int, Logged],
    base_url: str,
) -> Failure | None:
    """Each history entry is served once, as the passport its credential names, chained to
    the entry before it; an issuance is version 1 and first, a correction numbered one above
    the version before it, an event has no version number."""
    failures = []
    served = set()
    for row in driver_query(conn, _HISTORY_SQL, (start, end)):
        passport_id, sequence, index, entry_hash, same_kind, previous, previous_index = row[:7]
        version, kind, signer, status_index, previous_version = row[7:]
        where = f"passport {passport_id} sequence {sequence}"
        served.add(index)
        if index not in logged:
            failures.append((index, f"{where} is served as a version but is not one in the log"))
        elif not same_kind or logged[index][2] != f"{base_url}/{passport_id}":
            failures.append((index, f"{where} is served from an entry about another passport"))
        elif entry_hash != leaves[index - start].hex():
            failures.append((index, f"{where} names another entry hash than the log's"))
        elif signer is None or did_web(base_url, signer) != logged[index][3]:
            failures.append((index, f"{where} names another signer than the log's"))
        elif status_index != logged[index][4]:
            failures.append((index, f"{where} has another status-list place than its credential"))
        elif (
            (sequence == 1) != (previous_index is None)
            or (kind == EntryKind.PASSPORT_ISSUED) != (sequence == 1)
            or (previous_index is not None and previous_index >= index)
        ):
            failures.append((index, f"{where} breaks the sequence"))
        elif logged[index][0] != previous:
            failures.append((index, "previousEntry does not match the history"))
        elif version != _version_after(kind, previous_version):
            failures.append((index, f"{where} is served as version {version}, out of order"))
    missing = set(logged) - served
    if missing:
        failures.append((min(missing), "logged but not served (a history row is missing)"))
    return min(failures) if failures else None


def _version_after(kind: str, previous_version: int | None) -> int | None:
    """The version number a history row of `kind` has after `previous_version`."""
    if is_event(kind):
        return None
    return (previous_version or 0) + 1


_RESTRICTED_SQL = (
    "SELECT h.ledger_index, r.packed FROM restricted_credential r"
    " JOIN history_entry h ON h.passport_id = r.passport_id AND h.sequence = r.sequence"
    " WHERE h.ledger_index >= ? AND h.ledger_index < ?"
)


def check_restricted(
    conn: Connection,
    start: int,
    end: int,
    logged: Mapping[int, Logged],
    signature_keys: KeyHistory | None,
) -> tuple[Failure | None, int]:
    """Each restricted credential served is one its logged public credential binds by digest;
    return the first failure and how many are bound.

    The digest covers every byte, proof included, and the public credential's signature was
    verified: that authenticates the restricted bytes. Given `signature_keys`
    (`--restricted-signatures`), their own signatures are checked too.
    """
    bound: dict[int, set[str]] = {}
    failures = []
    count = 0
    for index, packed in driver_query(conn, _RESTRICTED_SQL, (start, end)):
        try:
            raw = unpack(stored_bytes(packed))  # the credential's bytes, as they were signed
        except PassportError as exc:
            failures.append((index, f"restricted credential: {exc.detail}"))
            continue
        digest = digest_sri(raw)
        digests = logged[index][1] if index in logged else {}
        if digest not in digests:
            failures.append((index, "restricted credential: does not match a digest it logs"))
            continue
        bound.setdefault(index, set()).add(digests[digest])
        count += 1
        if signature_keys is not None:
            failure = _verify_restricted(index, raw, signature_keys)
            if failure:
                failures.append(failure)
    for index, (_previous, digests, *_rest) in logged.items():
        if bound.get(index, set()) != set(digests.values()):
            failures.append((index, "restricted credential: logged but not served"))
    return (min(failures) if failures else None), count


def _verify_restricted(index: int, raw: bytes, keys: KeyHistory) -> Failure | None:
    """Verify a restricted credential's own signature (it is signed with its public one's key)."""
    try:
        document = orjson.loads(raw)
        method = document["proof"]["verificationMethod"]
        public = loaded_key(keys.key_for(method, index=index))
        verify_credential(document, resolve_key=lambda _m: public)
    except (PassportError, ValueError, KeyError, TypeError) as exc:
        return index, f"restricted credential: {detail(exc)}"
    return None
