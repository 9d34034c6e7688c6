"""Kinds of signed statements in a passport's history and in the ledger."""

from __future__ import annotations

from enum import StrEnum


class EntryKind(StrEnum):
    """What a ledger entry records; values are part of the signed entry bytes."""

    PASSPORT_ISSUED = "passport:issued"
    PASSPORT_CORRECTED = "passport:corrected"
