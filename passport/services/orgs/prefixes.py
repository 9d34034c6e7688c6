"""GS1 company prefixes: which GTINs an organisation may issue passports under.

The rule (one rule for every GTIN length): a GTIN is normalised to GTIN-14, its indicator digit
is dropped, and the GTIN-13 that is left must start with one of the organisation's registered
values.

- A **company prefix** is 4 to 12 digits, registered as GS1 writes it. A U.P.C. company prefix
  (GTIN-12) takes its leading 0 (`0614141`), because a GTIN-12 `614141…` is the GTIN-13
  `0614141…`.
- A **GTIN-8** has no company prefix: its GTIN-13 form is `00000` and the eight digits, which no
  company prefix starts with (prefixes starting `00000` are refused). An organisation owns a
  GTIN-8 only by registering that GTIN-8 itself (`--gtin8`, check digit verified); it is stored
  as its GTIN-13 form, so the one rule above matches exactly that GTIN-8.

Several organisations may hold the same or overlapping prefixes (a brand owner and the
contract maker it lets issue): registering one is the operator's statement that the
organisation may issue under it, and `dpp org list` and each DID document show who holds what.

The prefixes are public: each organisation's DID document lists them in a `service` entry of
type `GS1CompanyPrefixes` (`passport.web.public`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlmodel import Session, select

from passport.core.errors import Forbidden, InvalidInput
from passport.core.product.gs1 import gtin_check_digit
from passport.store.sql import driver_query
from passport.store.tables import OrgPrefixRow

GTIN8_SPACE = "00000"


def check_prefixes(gcps: Iterable[str], gtin8s: Iterable[str] = ()) -> list[str]:
    """Return the values to store for company prefixes `gcps` and whole GTIN-8s `gtin8s`."""
    errors: dict[str, list[str]] = {}
    stored: list[str] = []
    for gcp in gcps:
        if not (gcp.isascii() and gcp.isdigit() and 4 <= len(gcp) <= 12):
            errors.setdefault("gcp", []).append(f"{gcp!r}: a GS1 company prefix is 4-12 digits")
        elif gcp.startswith(GTIN8_SPACE):
            errors.setdefault("gcp", []).append(
                f"{gcp}: prefixes starting 00000 are GTIN-8s; register the GTIN-8 with --gtin8"
            )
        else:
            stored.append(gcp)
    for gtin8 in gtin8s:
        if not (
            gtin8.isascii()
            and gtin8.isdigit()
            and len(gtin8) == 8
            and gtin_check_digit(gtin8[:-1]) == int(gtin8[-1])
        ):
            errors.setdefault("gtin8", []).append(
                f"{gtin8!r}: a GTIN-8 is 8 digits with a valid check digit"
            )
        else:
            stored.append(GTIN8_SPACE + gtin8)
    if errors:
        raise InvalidInput("GS1 prefix is invalid", errors=errors)
    return sorted(set(stored))


def shown(prefix: str) -> str:
    """Return a stored prefix as people write it: a GTIN-8 as `GTIN-8 nnnnnnnn`."""
    if len(prefix) == 13 and prefix.startswith(GTIN8_SPACE):
        return f"GTIN-8 {prefix[len(GTIN8_SPACE) :]}"
    return prefix


def owns(prefixes: Iterable[str], gtin14: str) -> bool:
    """Return whether a normalised GTIN-14 falls under one of the stored `prefixes`."""
    gtin13 = gtin14[1:]
    return any(gtin13.startswith(prefix) for prefix in prefixes)


_PREFIXES = "SELECT prefix FROM org_prefix WHERE org_id = ? ORDER BY prefix"


def prefixes_of(sess: Session, org_id: int) -> list[str]:
    """Return the stored prefixes of an organisation, sorted."""
    rows = driver_query(sess.connection(), _PREFIXES, (org_id,))  # on every issuance
    return [str(prefix) for (prefix,) in rows]


def add_prefixes(sess: Session, org_id: int, prefixes: Iterable[str]) -> None:
    """Store `prefixes` (checked by `check_prefixes`) for an organisation, skipping held ones."""
    held = set(prefixes_of(sess, org_id))
    sess.add_all(OrgPrefixRow(org_id=org_id, prefix=p) for p in prefixes if p not in held)


def holders(sess: Session, prefix: str, *, besides: int) -> list[int]:
    """Return the ids of other organisations holding `prefix` or one overlapping it."""
    rows = sess.exec(select(OrgPrefixRow).where(OrgPrefixRow.org_id != besides)).all()
    return sorted(
        {r.org_id for r in rows if r.prefix.startswith(prefix) or prefix.startswith(r.prefix)}
    )


class GtinNotOwned(Forbidden):
    """The GTIN lies outside the GS1 company prefixes registered for the issuing organisation."""

    code = "gtin-not-owned"
    title = "GTIN outside the organisation's GS1 company prefixes"

    def __init__(
        self,
        slug: str,
        prefixes: Iterable[str],
        foreign: Mapping[int, str],
        *,
        single: bool = False,
    ) -> None:
        self.slug = slug
        self.prefixes = list(prefixes)
        self.rows = dict(foreign)
        named = ", ".join(shown(p) for p in self.prefixes) or "none registered"
        gtins = sorted(set(foreign.values()))
        listed = ", ".join(gtins[:5]) + (f" and {len(gtins) - 5} more" if len(gtins) > 5 else "")
        super().__init__(
            f"{slug} may issue only under its GS1 company prefixes ({named}); "
            f"GTIN {listed} is outside them",
            errors={
                "gtin" if single else f"rows.{n}.gtin": [
                    f"{gtin} is outside {slug}'s prefixes ({named})"
                ]
                for n, gtin in sorted(foreign.items())
            },
        )


def check_ownership(slug: str, prefixes: Iterable[str], gtins: Mapping[int, str]) -> None:
    """Raise GtinNotOwned naming every row whose GTIN-14 lies outside `prefixes`."""
    held = list(prefixes)
    foreign = {n: gtin for n, gtin in gtins.items() if not owns(held, gtin)}
    if foreign:
        raise GtinNotOwned(slug, held, foreign)
