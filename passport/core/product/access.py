"""Roles, access tiers and which tiers each role may read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from passport.core.errors import Forbidden


class Role(StrEnum):
    """What an organisation does in the value chain; decides what it may sign and read."""

    MANUFACTURER = "manufacturer"
    REPAIRER = "repairer"
    REMANUFACTURER = "remanufacturer"
    COLLECTOR = "collector"
    RECYCLER = "recycler"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Tier(StrEnum):
    """Access tier of a passport field, from open to most restricted."""

    PUBLIC = "public"
    LEGITIMATE_INTEREST = "legitimate_interest"
    AUTHORITY = "authority"


_LEGITIMATE = {Role.REPAIRER, Role.REMANUFACTURER, Role.COLLECTOR, Role.RECYCLER}


def tiers_for(caller: Caller | None, *, issuer_org_id: int) -> frozenset[Tier]:
    """Return the tiers `caller` may read of a passport `issuer_org_id` issued.

    The one read policy: anonymous callers read the public tier, roles add theirs, and the
    issuing organisation reads everything it signed.
    """
    if caller is not None and caller.org_id == issuer_org_id:
        return frozenset(Tier)
    return readable_tiers(caller.roles if caller else ())


def readable_tiers(roles: Iterable[Role]) -> frozenset[Tier]:
    """Return the tiers a caller holding `roles` may read (anonymous callers pass no roles)."""
    held = set(roles)
    tiers = {Tier.PUBLIC}
    if held & _LEGITIMATE:
        tiers.add(Tier.LEGITIMATE_INTEREST)
    if Role.AUDITOR in held:
        tiers |= {Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY}
    return frozenset(tiers)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated organisation making a request."""

    org_id: int
    slug: str
    roles: frozenset[Role]


def require_role(caller: Caller | None, role: Role) -> Caller:
    """Return `caller` if it holds `role`; raise Forbidden otherwise (anonymous callers too)."""
    if caller is None:
        raise Forbidden(f"only a {role.value} may do this")
    if role not in caller.roles:
        raise Forbidden(f"only a {role.value} may do this; {caller.slug} is not one")
    return caller
