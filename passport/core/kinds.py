"""Kinds of signed statements in a passport's history and in the ledger."""

from __future__ import annotations

from enum import StrEnum


class EntryKind(StrEnum):
    """What a ledger entry records; values are part of the signed entry bytes."""

    PASSPORT_ISSUED = "passport:issued"
    PASSPORT_CORRECTED = "passport:corrected"
    KEY_REGISTERED = "key:registered"
    KEY_RETIRED = "key:retired"
    KEY_REVOKED = "key:revoked"


KEY_KINDS = frozenset({EntryKind.KEY_REGISTERED, EntryKind.KEY_RETIRED, EntryKind.KEY_REVOKED})
