"""The words pages use for field names, event kinds, states and ladders, to translate.

Each is a gettext message (flask-babel's `lazy_gettext`), so the catalogues in
`web/translations/` carry the Dutch; a field without a word here is shown by its name.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

FIELDS: dict[str, Any] = {
    "address": _l("Address"),
    "area": _l("Area"),
    "available_until": _l("Available until"),
    "batch": _l("Recycling batch"),
    "brand": _l("Brand"),
    "care_instructions": _l("Care"),
    "cas_number": _l("CAS number"),
    "coatings_and_prints": _l("Coatings and prints"),
    "commodity_code": _l("Commodity code"),
    "compliance_documents": _l("Compliance documents"),
    "component": _l("Component"),
    "components": _l("Components"),
    "concentration_ppm": _l("Concentration (ppm)"),
    "condition": _l("Condition"),
    "count": _l("Number"),
    "country": _l("Country"),
    "country_of_origin": _l("Country of origin"),
    "description": _l("Description"),
    "destination": _l("Destination"),
    "detachable": _l("Detachable"),
    "dimensions": _l("Dimensions"),
    "disassembly_instructions": _l("Disassembly instructions"),
    "document_type": _l("Document type"),
    "documents": _l("Documents"),
    "durability_score": _l("Durability score"),
    "ec_number": _l("EC number"),
    "elastane_share_percent": _l("Elastane share (%)"),
    "end_of_life_instructions": _l("When it is worn out"),
    "expected_wash_cycles": _l("Expected wash cycles"),
    "facility": _l("Facility"),
    "facility_of_manufacture": _l("Place of manufacture"),
    "fibre": _l("Fibre"),
    "fibre_composition": _l("Fibre composition"),
    "flame_retardants": _l("Flame retardants"),
    "gln": _l("GLN"),
    "gtin": _l("GTIN"),
    "height_mm": _l("Height (mm)"),
    "inputs": _l("Inputs"),
    "instructions": _l("Instructions"),
    "issued_date": _l("Issued"),
    "issuer": _l("Issued by"),
    "layers": _l("Layers (bill of materials)"),
    "length_mm": _l("Length (mm)"),
    "location": _l("Location"),
    "lot": _l("Lot"),
    "loss_g": _l("Loss (g)"),
    "lots": _l("Material lots"),
    "manufacturer": _l("Manufacturer"),
    "mass_g": _l("Mass (g)"),
    "mass_in_g": _l("Mass in (g)"),
    "mass_out_g": _l("Mass out (g)"),
    "material": _l("Material"),
    "mattress_type": _l("Mattress type"),
    "municipality": _l("Municipality"),
    "name": _l("Name"),
    "note": _l("Note"),
    "occurred_at": _l("When"),
    "operator": _l("Operator"),
    "origin": _l("Origin"),
    "outcome": _l("Outcome"),
    "outputs": _l("Outputs"),
    "part": _l("Part"),
    "parts_replaced": _l("Parts replaced"),
    "percent": _l("Share (%)"),
    "place": _l("Where"),
    "placed_on_market_date": _l("On the market since"),
    "produced_at": _l("Produced at"),
    "province": _l("Province"),
    "quantity": _l("Quantity"),
    "recipient": _l("Recipient"),
    "recyclability_score": _l("Recyclability score"),
    "recycled_content": _l("Recycled material"),
    "reference": _l("Reference"),
    "removable_cover": _l("Removable cover"),
    "repair_information": _l("Repair"),
    "repair_service_uri": _l("Repair service"),
    "share_percent": _l("Share (%)"),
    "spare_parts": _l("Spare parts"),
    "steps": _l("Steps"),
    "substances_of_concern": _l("Substances of concern"),
    "successor": _l("Remanufactured into"),
    "predecessor": _l("Remanufactured from"),
    "serial": _l("Serial number"),
    "symbols": _l("Care symbols"),
    "take_back_scheme": _l("Take-back scheme"),
    "text": _l("Instructions"),
    "textile_type": _l("Textile type"),
    "time_minutes": _l("Time (minutes)"),
    "title": _l("Title"),
    "tools": _l("Tools"),
    "trims": _l("Trims"),
    "type": _l("Type"),
    "uri": _l("Link"),
    "warranty_years": _l("Warranty (years)"),
    "width_mm": _l("Width (mm)"),
}

KINDS: dict[str, Any] = {
    "passport:issued": _l("Passport issued"),
    "passport:corrected": _l("Passport corrected"),
    "event:place-on-market": _l("Placed on the market"),
    "event:transfer": _l("Passed on"),
    "event:repair": _l("Repaired"),
    "event:refurbish": _l("Refurbished"),
    "event:remanufacture": _l("Remanufactured"),
    "event:collect": _l("Collected"),
    "event:sort": _l("Sorted"),
    "event:disassemble": _l("Taken apart"),
    "event:recycle": _l("Recycled"),
    "event:end-of-life": _l("End of life"),
}

STATUS: dict[str, Any] = {
    "active": _l("In use"),
    "superseded": _l("Replaced by a remanufactured product"),
    "end-of-life": _l("End of life"),
}

LADDERS: dict[str, Any] = {
    "rvo-cbs-10": _l("R-ladder of RVO and CBS (10 steps)"),
    "pbl-icer-6": _l("R-ladder of PBL and ICER (6 steps)"),
}

STRATEGIES: dict[str, Any] = {
    "refuse": _l("refuse"),
    "rethink": _l("rethink"),
    "refuse-and-rethink": _l("refuse and rethink"),
    "reduce": _l("reduce"),
    "reuse": _l("reuse"),
    "repair": _l("repair"),
    "refurbish": _l("refurbish"),
    "remanufacture": _l("remanufacture"),
    "repurpose": _l("repurpose"),
    "recycle": _l("recycle"),
    "recover": _l("recover"),
}

VALUES: dict[str, Any] = {
    "wool": _l("wool"),
    "cotton": _l("cotton"),
    "polyester": _l("polyester"),
    "polyamide": _l("polyamide"),
    "viscose": _l("viscose"),
    "linen": _l("linen"),
    "elastane": _l("elastane"),
    "acrylic": _l("acrylic"),
    "steel": _l("steel"),
    "polyurethane_foam": _l("polyurethane foam"),
    "latex": _l("latex"),
    "post_industrial": _l("post-industrial"),
    "pre_consumer": _l("pre-consumer"),
    "post_consumer": _l("post-consumer"),
    "household_linen": _l("household linen"),
    "apparel": _l("clothing"),
    "pocket_spring": _l("pocket spring"),
    "good": _l("good"),
    "as-new": _l("as new"),
    "poor": _l("poor"),
    "unusable": _l("unusable"),
    "recycling": _l("recycling"),
    "reuse-nl": _l("reuse in the Netherlands"),
    "reuse-abroad": _l("reuse abroad"),
    "fibre-to-fibre": _l("fibre-to-fibre recycling"),
    "incinerated-with-energy-recovery": _l("incinerated with energy recovery"),
    "incinerated": _l("incinerated"),
    "landfilled": _l("landfilled"),
    "consumer": _l("consumer"),
    "textile": _l("textile"),
    "mattress": _l("mattress"),
    "item": _l("single product"),
    "batch": _l("batch"),
    "model": _l("model"),
}


def field(name: str) -> Any:
    """Return the words for field `name` (its name with spaces if there are none)."""
    return FIELDS.get(name, name.replace("_", " "))


def value(text: Any) -> Any:
    """Return the words for a coded value, or the value itself."""
    return VALUES.get(text, text) if isinstance(text, str) else text


ERRORS: dict[int, Any] = {
    400: _l("This is not a valid product code or request"),
    401: _l("Please sign in first"),
    403: _l("You may not do this"),
    404: _l("We do not know this product or page"),
    405: _l("That is not possible here"),
    409: _l("That cannot happen now"),
    413: _l("That is too much at once"),
    415: _l("That is not possible here"),
    422: _l("Something is not right"),
    429: _l("Too many attempts. Try again later."),
    500: _l("Something went wrong on our side"),
    503: _l("Something went wrong on our side"),
}
