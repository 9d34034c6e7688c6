"""Lifecycle status for any verifier: W3C Bitstring Status List v1.0.

Each passport version credential carries a `credentialStatus` entry (`BitstringStatusListEntry`,
purpose `message`, two bits per credential) pointing into a status list its issuer publishes.
The values: 0 active (the passport's current version, in use), 1 superseded (by a newer version
or by a remanufactured successor), 2 end of life; 3 is unused. Lists hold `CAPACITY` entries
(the specification's minimum of 131,072 bits is met twice over), so an index is a list number
and a position in it. The encoded list is the GZIP of the bitstring, base64url without padding,
multibase prefix `u`; the first entry is the most significant bits of the first byte.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from typing import Any

STATUS_SIZE = 2
CAPACITY = 131_072  # entries per list: 262,144 bits, 32 KiB before compression
PURPOSE = "message"
ACTIVE, SUPERSEDED, END_OF_LIFE, UNUSED = 0, 1, 2, 3
MESSAGES = (
    {"status": "0x0", "message": "active"},
    {"status": "0x1", "message": "superseded"},
    {"status": "0x2", "message": "end-of-life"},
    {"status": "0x3", "message": "unused"},
)
VALUES = {"active": ACTIVE, "superseded": SUPERSEDED, "end-of-life": END_OF_LIFE}


def list_url(base_url: str, slug: str, number: int) -> str:
    """The URL of an organisation's status list credential number `number`."""
    return f"{base_url}/orgs/{slug}/status/{number}"


def status_entry(base_url: str, slug: str, index: int) -> dict[str, Any]:
    """The `credentialStatus` of the credential at status index `index` of `slug`'s lists."""
    url = list_url(base_url, slug, index // CAPACITY)
    position = index % CAPACITY
    return {
        "id": f"{url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": PURPOSE,
        "statusListIndex": str(position),
        "statusListCredential": url,
        "statusSize": STATUS_SIZE,
        "statusMessage": [dict(m) for m in MESSAGES],
    }


def index_of(entry: Mapping[str, Any]) -> int:
    """The status index a `credentialStatus` entry of this service names (list and place)."""
    number = int(str(entry["statusListCredential"]).rsplit("/", 1)[1])
    return number * CAPACITY + int(entry["statusListIndex"])


def encode_list(values: Mapping[int, int]) -> str:
    """Encode positions → values (0-3) as an `encodedList`; absent positions are 0."""
    bits = bytearray(CAPACITY * STATUS_SIZE // 8)
    for position, value in values.items():
        if not 0 <= position < CAPACITY or not 0 <= value < 1 << STATUS_SIZE:
            raise ValueError(f"status {value} at {position} does not fit the list")
        bit = position * STATUS_SIZE
        shift = 8 - STATUS_SIZE - bit % 8
        bits[bit // 8] |= value << shift
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the GZIP format
    packed = packer.compress(bytes(bits)) + packer.flush()
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def value_at(encoded: str, position: int) -> int:
    """Read one entry of an `encodedList` (what a verifier does)."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList is multibase base64url: it starts with u")
    text = encoded[1:]
    bits = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), 47)
    bit = position * STATUS_SIZE
    return bits[bit // 8] >> (8 - STATUS_SIZE - bit % 8) & (1 << STATUS_SIZE) - 1


def status_list(
    base_url: str, slug: str, did: str, number: int, values: Mapping[int, int], valid_from: str
) -> dict[str, Any]:
    """The unsigned status list credential number `number` of an organisation."""
    url = list_url(base_url, slug, number)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encode_list(values),
        },
    }
