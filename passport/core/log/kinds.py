"""Kinds of signed statements in a passport's history and in the ledger."""

from __future__ import annotations

from enum import StrEnum

from passport.core.errors import LedgerInconsistent
from passport.core.signing.canonical import canonicalize


class EntryKind(StrEnum):
    """What a ledger entry records; values are part of the signed entry bytes."""

    PASSPORT_ISSUED = "passport:issued"
    PASSPORT_CORRECTED = "passport:corrected"
    LOT_PRODUCED = "lot:produced"
    KEY_REGISTERED = "key:registered"
    KEY_RETIRED = "key:retired"
    KEY_REVOKED = "key:revoked"


KEY_KINDS = frozenset({EntryKind.KEY_REGISTERED, EntryKind.KEY_RETIRED, EntryKind.KEY_REVOKED})
PASSPORT_KINDS = frozenset({EntryKind.PASSPORT_ISSUED, EntryKind.PASSPORT_CORRECTED})
# A lifecycle event's entry kind is this prefix and the event's kind (`event:repair`); the
# lifecycle rules own the list of event kinds (`passport.core.lifecycle.vocabulary`).
EVENT_PREFIX = "event:"


def is_event(kind: str) -> bool:
    """Return whether an entry kind records a lifecycle event."""
    return kind.startswith(EVENT_PREFIX)


def is_history(kind: str) -> bool:
    """Return whether an entry of `kind` belongs to a passport's history (version or event)."""
    return kind in PASSPORT_KINDS or kind.startswith(EVENT_PREFIX)


def entry_bytes(kind: str, credential: bytes) -> bytes:
    """Return the ledger entry bytes: JCS of `{"v":1,"kind":…,"credential":…}`.

    `credential` is the credential's JCS bytes; JCS orders the members credential, kind, v,
    so the entry is assembled around those bytes instead of canonicalising them again.
    """
    return b'{"credential":' + credential + b',"kind":' + canonicalize(str(kind)) + b',"v":1}'


_HEAD = b'{"credential":'


def credential_of(entry: bytes, kind: str) -> bytes:
    """Return the credential's JCS bytes inside an entry that `entry_bytes` made (a passport
    version, an event or a lot): the one stored copy of a public credential, which reads serve
    as they are."""
    tail = b',"kind":' + canonicalize(kind) + b',"v":1}'
    if not (entry.startswith(_HEAD) and entry.endswith(tail)):
        raise LedgerInconsistent(f"not a {kind} entry of this service")
    return entry[len(_HEAD) : -len(tail)]
