"""Material lots and the recycled content claimed from them: nothing is counted twice.

A recycling run produces lots, each with its own credential (`lot:produced`) stating its
material and mass. A passport version claims grams of lots in its public product data
(`recycled_content[].lots[]`); a passport's claims are those of its newest version, so a
correction releases what the version before it claimed, and a remanufacture releases the
passport's claims to its successor (logged after the event), which states its own. At every
point of the log, the grams claimed from a lot never exceed its mass: `Balances` recomputes
every balance from the log alone, as `dpp audit` and `dpp verify` do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from passport.core.errors import InvalidInput, LedgerInconsistent
from passport.core.product.credentials import SignedVersion, Signer, common_members, sign_bound
from passport.core.product.gs1 import path_on

LOT_TYPE = "MaterialLotCredential"


@dataclass(frozen=True, slots=True)
class LotClaim:
    """What a lot's credential states: the lot, its material and mass, and where it came from."""

    subject_id: str
    material: str
    mass_g: int
    produced_at: str
    batch: str
    inputs: tuple[str, ...]


def sign_lot(
    claim: LotClaim,
    *,
    signer: Signer,
    base_url: str,
    at: datetime,
    random_bytes: Callable[[int], bytes],
) -> SignedVersion:
    """Sign a lot's credential (public only: a lot has no restricted data)."""
    public = {
        **common_members(signer, base_url, at, 1, None),
        "type": ["VerifiableCredential", LOT_TYPE],
        "credentialSubject": {
            "id": claim.subject_id,
            "type": "MaterialLot",
            "lot": {
                "material": claim.material,
                "mass_g": claim.mass_g,
                "produced_at": claim.produced_at,
                "batch": claim.batch,
                "inputs": list(claim.inputs),
            },
        },
    }
    return sign_bound(public, {}, member="lot", signer=signer, at=at, random_bytes=random_bytes)


def lot_of(credential: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return what a lot credential states, or None for any other credential."""
    if LOT_TYPE not in credential.get("type", ()):
        return None
    lot = credential.get("credentialSubject", {}).get("lot")
    return lot if isinstance(lot, Mapping) else None


@dataclass(frozen=True, slots=True)
class Drawn:
    """Grams of one lot that one recycled-content entry draws, and where it says so."""

    lot: str  # the lot's Digital Link URI
    material: str
    grams: int
    path: str  # e.g. product.recycled_content.0.lots.1.lot_id


def drawn_from(product: Mapping[str, Any], base_url: str) -> list[Drawn]:
    """Return the lots a product's recycled content draws on, as Digital Link URIs; a lot
    named by its path (`01/…/10/…`) is read on this ledger. Raise InvalidInput for a lot that
    is not a Digital Link on this ledger."""
    found = []
    for i, entry in enumerate(product.get("recycled_content", ())):
        for j, lot in enumerate(entry.get("lots", ())):
            path = f"product.recycled_content.{i}.lots.{j}.lot_id"
            lot_path = path_on(str(lot["lot_id"]), base_url)
            if lot_path is None or not lot_path.startswith("01/"):
                raise InvalidInput(
                    "recycled content may come only from lots recorded on this ledger",
                    errors={path: [f"not a material lot of {base_url}"]},
                )
            uri = f"{base_url}/{lot_path}"
            found.append(Drawn(uri, str(entry["material"]), int(lot["mass_g"]), path))
    return found


@dataclass(slots=True)
class Balances:
    """Every lot's mass and the grams its passports claim now, as the log states them."""

    mass: dict[str, int] = field(default_factory=dict)
    material: dict[str, str] = field(default_factory=dict)
    claimed: dict[str, int] = field(default_factory=dict)
    by_passport: dict[str, dict[str, int]] = field(default_factory=dict)

    def produce(self, lot: str, material: str, mass_g: int, *, index: int) -> None:
        """A lot's credential at log position `index`."""
        if lot in self.mass:
            raise LedgerInconsistent(f"entry {index}: lot {lot} is produced twice")
        self.mass[lot], self.material[lot], self.claimed[lot] = mass_g, material, 0

    def claim(self, passport: str, drawn: Iterable[Drawn], *, index: int) -> None:
        """A passport version at `index` claims `drawn`, replacing the passport's claims so far;
        raise LedgerInconsistent if a lot is unknown, of another material, or overdrawn."""
        wanted: dict[str, int] = {}
        for item in drawn:
            if item.lot not in self.mass:
                raise LedgerInconsistent(f"entry {index}: claims lot {item.lot}, not produced")
            if self.material[item.lot] != item.material:
                raise LedgerInconsistent(
                    f"entry {index}: claims {item.material} from a lot of {self.material[item.lot]}"
                )
            wanted[item.lot] = wanted.get(item.lot, 0) + item.grams
        for lot, grams in self.by_passport.pop(passport, {}).items():
            self.claimed[lot] -= grams
        for lot, grams in wanted.items():
            self.claimed[lot] += grams
            if self.claimed[lot] > self.mass[lot]:
                raise LedgerInconsistent(
                    f"entry {index}: lot {lot} is overdrawn: {self.claimed[lot]} g claimed "
                    f"of {self.mass[lot]} g"
                )
        if wanted:
            self.by_passport[passport] = wanted

    def release(self, passport: str) -> None:
        """A remanufacture: the passport's claims pass to its successor, which states its own."""
        for lot, grams in self.by_passport.pop(passport, {}).items():
            self.claimed[lot] -= grams

    def remaining(self, lot: str) -> int:
        """Grams of `lot` not claimed."""
        return self.mass[lot] - self.claimed[lot]
