"""Lifecycle-event credentials: signed by the actor, bound into the passport's history.

An event credential is shaped like a passport version: it names the passport (its subject),
its sequence number in the passport's history and the previous entry's hash, so it cannot be
replayed for another passport or moved in the history. Fields of a restricted tier go into
restricted credentials that the public one binds by digest, as for passports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from passport.core.lifecycle.vocabulary import EventKind, r_strategy
from passport.core.product.access import Tier
from passport.core.product.credentials import (
    SignedVersion,
    Signer,
    common_members,
    sign_bound,
)

EVENT_TYPE = "LifecycleEventCredential"


@dataclass(frozen=True, slots=True)
class EventClaim:
    """What one event states, before it is signed; `tiers` holds the request's fields."""

    subject_id: str
    kind: EventKind
    sequence: int
    previous_entry: str
    tiers: Mapping[Tier, Mapping[str, Any]]


def public_event(kind: EventKind, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return the public event as signed: the request's public fields and the R-strategy the
    kind (or its outcome) serves, on both ladders."""
    strategy = [step.as_json() for step in r_strategy(kind, fields.get("outcome"))]
    return {**fields, "kind": kind.value, "r_strategy": strategy}


def sign_event(
    claim: EventClaim,
    *,
    signer: Signer,
    base_url: str,
    at: datetime,
    random_bytes: Callable[[int], bytes],
) -> SignedVersion:
    """Sign the event's restricted tiers, then its public credential binding them."""
    public = {
        **common_members(signer, base_url, at, claim.sequence, claim.previous_entry),
        "type": ["VerifiableCredential", EVENT_TYPE],
        "credentialSubject": {
            "id": claim.subject_id,
            "event": public_event(claim.kind, claim.tiers.get(Tier.PUBLIC, {})),
        },
    }
    return sign_bound(
        public, claim.tiers, member="event", signer=signer, at=at, random_bytes=random_bytes
    )


def event_of(credential: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the public event a credential states, or None when it states no event."""
    if EVENT_TYPE not in credential.get("type", ()):
        return None
    event = credential.get("credentialSubject", {}).get("event")
    return event if isinstance(event, Mapping) else None
