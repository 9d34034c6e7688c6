"""GS1 identifiers: GTIN check digits and Digital Link paths (model, batch, item)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, unquote

from passport.core.errors import InvalidInput

# GS1 AI encodable character set 82, the alphabet of lots (AI 10) and serials (AI 21).
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
# Crockford base32: no I, L, O or U, so a serial read aloud or off a worn label is unambiguous.
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_LENGTH = 13  # 13 x 5 bits = 65 bits of randomness: a possession secret, not a counter
SERIAL_ENTROPY_BYTES = 9  # 72 bits drawn, 65 used


class Granularity(StrEnum):
    """How much of the product one passport covers (ESPR Art. 9(2)(d))."""

    MODEL = "model"
    BATCH = "batch"
    ITEM = "item"


def gtin_check_digit(body: str) -> int:
    """Return the GS1 mod-10 check digit for the digits before it."""
    backwards = body[::-1]  # weights 3, 1, 3, … from the digit next to the check digit
    total = 3 * sum(map(int, backwards[0::2])) + sum(map(int, backwards[1::2]))
    return (10 - total % 10) % 10


def normalise_gtin(value: str, *, field: str = "gtin") -> str:
    """Return the GTIN-14 for a GTIN-8/12/13/14, refusing a wrong length or check digit."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise InvalidInput(
            "GTIN must be digits", errors={field: ["must be 8, 12, 13 or 14 digits"]}
        )
    if len(value) not in (8, 12, 13, 14):
        raise InvalidInput(
            "GTIN has a wrong length", errors={field: ["must be 8, 12, 13 or 14 digits"]}
        )
    gtin = value.zfill(14)
    if gtin_check_digit(gtin[:-1]) != int(gtin[-1]):
        expected = gtin_check_digit(gtin[:-1])
        raise InvalidInput(
            "GTIN check digit is wrong",
            errors={field: [f"check digit is {gtin[-1]}, expected {expected}"]},
        )
    return gtin


def check_qualifier(value: str, *, field: str) -> str:
    """Return a lot or serial unchanged if it is 1–20 characters of GS1 character set 82."""
    if not isinstance(value, str) or not _CSET82.fullmatch(value):
        raise InvalidInput(
            f"{field} is not a valid GS1 value",
            errors={field: ["must be 1-20 characters of the GS1 character set 82"]},
        )
    return value


def serial_from(entropy: bytes) -> str:
    """Return a serial of 13 Crockford base32 characters made of 65 bits of `entropy`.

    The caller draws the randomness (`secrets.token_bytes(SERIAL_ENTROPY_BYTES)`): the core
    reads no randomness source of its own.
    """
    if len(entropy) != SERIAL_ENTROPY_BYTES:
        raise ValueError(f"a serial takes {SERIAL_ENTROPY_BYTES} bytes of entropy")
    bits = int.from_bytes(entropy, "big") >> (8 * SERIAL_ENTROPY_BYTES - 5 * SERIAL_LENGTH)
    return "".join(
        SERIAL_ALPHABET[(bits >> (5 * (SERIAL_LENGTH - 1 - i))) & 31] for i in range(SERIAL_LENGTH)
    )


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A GS1 Digital Link identity: GTIN plus optional lot and serial, in the fixed order."""

    gtin: str
    variant: str | None = None  # AI 22, consumer product variant
    lot: str | None = None
    serial: str | None = None

    @property
    def granularity(self) -> Granularity:
        """Return the granularity the qualifiers imply."""
        if self.serial is not None:
            return Granularity.ITEM
        if self.lot is not None:
            return Granularity.BATCH
        return Granularity.MODEL

    # The path without a leading slash, qualifiers in the order 22 → 10 → 21; made once.
    path: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = ["01", self.gtin]
        if self.variant is not None:
            parts += ["22", _escape(self.variant)]
        if self.lot is not None:
            parts += ["10", _escape(self.lot)]
        if self.serial is not None:
            parts += ["21", _escape(self.serial)]
        object.__setattr__(self, "path", "/".join(parts))

    def uri(self, base_url: str) -> str:
        """Return the full Digital Link URI on the resolver at `base_url`."""
        return f"{base_url.rstrip('/')}/{self.path}"


def _escape(value: str) -> str:
    """Percent-encode the characters of set 82 that are reserved in a URI path segment."""
    return quote(value, safe="-._~'()*!,;:=+")


def make_link(
    *,
    gtin: str,
    granularity: Granularity,
    lot: str | None = None,
    serial: str | None = None,
    variant: str | None = None,
    entropy: bytes,
) -> DigitalLink:
    """Return the identity for a new passport; an item that names no serial gets one made of
    `entropy` (`SERIAL_ENTROPY_BYTES` random bytes, see `serial_from`)."""
    gtin14 = normalise_gtin(gtin)
    if variant is not None:
        check_qualifier(variant, field="variant")
    if lot is not None:
        check_qualifier(lot, field="lot")
    if serial is not None:
        check_qualifier(serial, field="serial")
    if granularity is Granularity.MODEL and (lot is not None or serial is not None):
        raise InvalidInput(
            "a model passport has no lot or serial",
            errors={"granularity": ["model granularity takes neither lot nor serial"]},
        )
    if granularity is Granularity.BATCH:
        if lot is None:
            raise InvalidInput("a batch passport needs a lot", errors={"lot": ["required"]})
        if serial is not None:
            raise InvalidInput(
                "a batch passport has no serial", errors={"serial": ["not allowed for a batch"]}
            )
    if granularity is Granularity.ITEM and serial is None:
        serial = serial_from(entropy)
    return DigitalLink(gtin=gtin14, variant=variant, lot=lot, serial=serial)


def path_on(reference: str, base_url: str) -> str | None:
    """Return the Digital Link path `reference` names on the service at `base_url` (a path as
    given, or a URI under `base_url`), or None for a URI of anywhere else."""
    path = reference.removeprefix(base_url + "/")
    return None if "://" in path else path.strip("/")


def parse_path(path: str) -> DigitalLink:
    """Parse `01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}]`, qualifiers strictly in order.

    `path` is percent-encoded, as `DigitalLink.path` writes it: it is split on `/` first, then
    each segment is percent-decoded exactly once (UTF-8), so `A%2FB` is the value `A/B` and
    `PC-%2541` the value `PC-%41`.
    """
    segments = [_unescape(s) for s in path.strip("/").split("/")]
    if len(segments) < 2 or len(segments) % 2 or segments[0] != "01":
        raise InvalidInput("not a GS1 Digital Link path", errors={"id": ["expected 01/{gtin}/…"]})
    gtin = normalise_gtin(segments[1], field="id")
    if gtin != segments[1]:
        raise InvalidInput("Digital Link ids use GTIN-14", errors={"id": ["use the 14-digit GTIN"]})
    pairs = list(zip(segments[2::2], segments[3::2], strict=True))
    values: dict[str, str] = {}
    order = ["22", "10", "21"]
    position = 0
    for ai, raw in pairs:
        if ai not in order[position:]:
            raise InvalidInput(
                "qualifiers out of order or unknown",
                errors={"id": ["qualifiers follow 01 in the order 22, 10, 21, at most once each"]},
            )
        position = order.index(ai) + 1
        values[ai] = check_qualifier(raw, field="id")
    return DigitalLink(
        gtin=gtin, variant=values.get("22"), lot=values.get("10"), serial=values.get("21")
    )


def _unescape(segment: str) -> str:
    """Percent-decode one path segment; bytes that are not UTF-8 are no identifier."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput(
            "not a GS1 Digital Link path", errors={"id": ["segments are UTF-8"]}
        ) from None
