"""A passport version as a caller sees it: what the API and the CLI answer with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from passport.core.product.access import Tier
from passport.core.product.credentials import SignedVersion
from passport.core.product.gs1 import DigitalLink


@dataclass(frozen=True, slots=True)
class PassportView:
    """A passport version as a caller may see it: the public credential and readable tiers."""

    id: str
    uri: str
    category: str
    granularity: str
    version: int
    sequence: int
    credential: dict[str, Any]
    restricted: dict[Tier, dict[str, Any]]
    ledger_index: int | None = None


@dataclass(frozen=True, slots=True)
class StoredView:
    """A passport version as stored: the credentials as their signed JCS texts (the public one
    as the bytes of its ledger entry), unparsed, so a reader can serve them as they are."""

    id: str
    uri: str
    category: str
    granularity: str
    version: int
    sequence: int
    credential: bytes
    restricted: dict[Tier, bytes]
    ledger_index: int


def view_of(
    link: DigitalLink,
    base_url: str,
    category: str,
    *,
    version: int,
    sequence: int,
    signed: SignedVersion,
) -> PassportView:
    """Return the view of a freshly signed version (its ledger index comes with storing it)."""
    return PassportView(
        id=link.path,
        uri=link.uri(base_url),
        category=category,
        granularity=link.granularity.value,
        version=version,
        sequence=sequence,
        credential=signed.public,
        restricted=signed.restricted,
    )
