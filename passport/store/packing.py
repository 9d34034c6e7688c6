"""Restricted credentials at rest: zlib with a preset dictionary of their own vocabulary.

A restricted credential (about 1.5 KB of JCS) repeats what every one of them holds: the
contexts, types, proof members and field names. Deflate with a preset dictionary of those
strings stores one in about 620 bytes (plain zlib: about 890), so a textile passport fits in
about 5.5 KB instead of 7.3 KB on SQLite (docs/benchmarks.md). The public credential is not
packed: it lives in its ledger entry, whose bytes readers of the log take as they are.

A packed value is one codec byte and the deflate stream. Codec 1's dictionary is fixed forever:
a new dictionary is a new codec, and unpacking keeps knowing every earlier one.
"""

from __future__ import annotations

import zlib

from passport.core.errors import LedgerInconsistent

CODEC_DEFLATE_V1 = 1
_LEVEL = 6

# Codec 1's preset dictionary. Deflate refers back to it: strings later in it are cheaper to
# refer to, so the envelope, which every credential repeats, comes last. Never edit this.
_DICTIONARY_V1 = "".join(
    [
        *(
            f'"{name}":'
            for name in [
                "address",
                "area",
                "available_until",
                "brand",
                "care_instructions",
                "cas_number",
                "coatings_and_prints",
                "commodity_code",
                "compliance_documents",
                "component",
                "concentration_ppm",
                "conditions",
                "count",
                "country",
                "country_of_origin",
                "description",
                "detachable",
                "digest_sri",
                "dimensions",
                "disassembly_instructions",
                "document_type",
                "durability_score",
                "ec_number",
                "elastane_share_percent",
                "end_of_life_instructions",
                "expected_wash_cycles",
                "facility_of_manufacture",
                "fibre",
                "fibre_composition",
                "flame_retardants",
                "gln",
                "gtin",
                "height_mm",
                "instructions",
                "issued_date",
                "issuer",
                "kind",
                "layers",
                "length_mm",
                "location",
                "lot_id",
                "lots",
                "manufacturer",
                "mass_g",
                "material",
                "mattress_type",
                "name",
                "operator",
                "operator_gln",
                "origin",
                "part",
                "percent",
                "placed_on_market_date",
                "recyclability_score",
                "recycled_content",
                "removable_cover",
                "repair_information",
                "repair_service_uri",
                "share_percent",
                "spare_parts",
                "steps",
                "substances_of_concern",
                "symbols",
                "take_back_scheme",
                "text",
                "textile_type",
                "time_minutes",
                "title",
                "tools",
                "trims",
                "uri",
                "warranty_years",
                "width_mm",
            ]
        ),
        '"nl":"","en":"',
        '{"@context":["https://www.w3.org/ns/credentials/v2","',
        '/contexts/dpp/v1"],"accessTier":"legitimate_interest","authority"',
        ',"credentialSubject":{"id":"',
        "/01/",
        "/10/",
        "/21/",
        '","product":{',
        '"id":"urn:uuid:',
        '"issuer":"did:web:',
        ":orgs:",
        '"proof":{"@context":["https://www.w3.org/ns/credentials/v2","',
        '"created":"',
        '"cryptosuite":"eddsa-jcs-2022","proofPurpose":"assertionMethod","proofValue":"z',
        '"type":"DataIntegrityProof","verificationMethod":"did:web:',
        "#key-",
        '"salt":"',
        '"sequence":1,"type":["VerifiableCredential","RestrictedPassportData"],"validFrom":"',
    ]
).encode()


def pack(text: bytes) -> bytes:
    """Return `text` packed with the current codec."""
    deflate = zlib.compressobj(_LEVEL, zdict=_DICTIONARY_V1)
    return bytes([CODEC_DEFLATE_V1]) + deflate.compress(text) + deflate.flush()


def unpack(packed: bytes) -> bytes:
    """Return the text `packed` holds; a value no codec made is an inconsistency."""
    if packed[:1] != bytes([CODEC_DEFLATE_V1]):
        raise LedgerInconsistent("a stored restricted credential has an unknown packing")
    inflate = zlib.decompressobj(zdict=_DICTIONARY_V1)
    try:
        text = inflate.decompress(packed[1:]) + inflate.flush()
    except zlib.error as exc:
        raise LedgerInconsistent(f"a stored restricted credential does not unpack: {exc}") from exc
    if not inflate.eof or inflate.unused_data:
        raise LedgerInconsistent("a stored restricted credential is cut short or has extra bytes")
    return text
