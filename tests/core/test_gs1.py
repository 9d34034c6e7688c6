"""GS1 identifiers: GTIN check digits, Digital Link paths, qualifier order, serials."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.core.errors import InvalidInput
from passport.core.product.gs1 import (
    SERIAL_ALPHABET,
    SERIAL_ENTROPY_BYTES,
    SERIAL_LENGTH,
    DigitalLink,
    Granularity,
    check_qualifier,
    gtin_check_digit,
    make_link,
    normalise_gtin,
    parse_path,
    serial_from,
)

# GS1 General Specifications figure 7.9.1-2: AI encodable character set 82.
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
# Real GTINs with their check digits: GS1's example GTIN used throughout the Digital Link
# standard (09506000134352, and its sibling …376), the classic EAN-13 4006381333931, the GTIN-14
# 08712345678906, the UPC-A 036000291452 and the EAN-8 96385074.
KNOWN_GTINS = {
    "09506000134352": "09506000134352",
    "09506000134376": "09506000134376",
    "08712345678906": "08712345678906",
    "4006381333931": "04006381333931",
    "036000291452": "00036000291452",
    "96385074": "00000096385074",
}
GTIN = "09506000134352"

cset82_values = st.text(alphabet=CSET82, min_size=1, max_size=20)


def reference_check_digit(body: str) -> int:
    """Compute the GS1 check digit left to right on the body padded to 17 digits (as for SSCC)."""
    padded = body.zfill(17)
    total = sum(
        int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(padded)
    )
    return -total % 10


@st.composite
def gtins(draw: st.DrawFn) -> str:
    """Draw a valid GTIN-14."""
    body = draw(st.text(alphabet="0123456789", min_size=13, max_size=13))
    return body + str(reference_check_digit(body))


@st.composite
def links(draw: st.DrawFn) -> DigitalLink:
    """Draw any valid Digital Link identity."""
    return DigitalLink(
        gtin=draw(gtins()),
        variant=draw(st.none() | cset82_values),
        lot=draw(st.none() | cset82_values),
        serial=draw(st.none() | cset82_values),
    )


def refusal(call: Callable[..., object], *args: object, **kwargs: object) -> dict[str, list[str]]:
    """Return the field errors of the InvalidInput the call raises."""
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)
    return info.value.errors


def test_cset82_has_82_characters() -> None:
    assert len(set(CSET82)) == len(CSET82) == 82


@pytest.mark.parametrize(("value", "gtin14"), KNOWN_GTINS.items())
def test_known_gtins(value: str, gtin14: str) -> None:
    assert gtin_check_digit(value[:-1]) == int(value[-1])
    assert normalise_gtin(value) == gtin14


@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_check_digit_agrees_with_a_reference(body: str) -> None:
    assert gtin_check_digit(body) == reference_check_digit(body)


@given(gtin=gtins(), data=st.data())
def test_any_single_character_change_breaks_the_check_digit(gtin: str, data: st.DataObject) -> None:
    assert normalise_gtin(gtin) == gtin
    index = data.draw(st.integers(0, 13))
    char = data.draw(st.characters(codec="utf-8").filter(lambda c: c != gtin[index]))
    changed = gtin[:index] + char + gtin[index + 1 :]
    with pytest.raises(InvalidInput):
        normalise_gtin(changed)


@given(gtins())
def test_shorter_gtins_are_the_same_gtin_padded(gtin: str) -> None:
    for length in (8, 12, 13):
        if gtin[: 14 - length] == "0" * (14 - length):
            assert normalise_gtin(gtin[14 - length :]) == gtin


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("4006381333932", "check digit is 2, expected 1"),
        ("400638133393", "check digit is 3, expected 0"),
        ("40063813339311", "check digit is 1, expected 4"),
        ("4006381333", "8, 12, 13 or 14 digits"),
        ("", "8, 12, 13 or 14 digits"),
        ("400638133393l", "8, 12, 13 or 14 digits"),
        ("４００６３８１３３３９３１", "8, 12, 13 or 14 digits"),  # fullwidth digits are isdigit()
        (" 4006381333931", "8, 12, 13 or 14 digits"),
    ],
)
def test_wrong_gtins_are_refused_with_the_reason(value: str, message: str) -> None:
    errors = refusal(normalise_gtin, value, field="gtin")
    assert any(message in text for text in errors["gtin"])


def test_digital_link_examples() -> None:
    link = DigitalLink(gtin=GTIN, variant="2A", lot="ABC123", serial="12345")
    assert link.path == "01/09506000134352/22/2A/10/ABC123/21/12345"
    assert link.uri("https://id.gs1.org/") == (
        "https://id.gs1.org/01/09506000134352/22/2A/10/ABC123/21/12345"
    )
    assert parse_path("/01/09506000134352/10/ABC123/21/12345") == DigitalLink(
        gtin=GTIN, lot="ABC123", serial="12345"
    )
    assert parse_path("01/09506000134352") == DigitalLink(gtin=GTIN)


def test_reserved_characters_are_percent_encoded() -> None:
    link = DigitalLink(gtin=GTIN, lot='A/B%C&D?E<F>G"H', serial="x-._'()*!,;:=+")
    assert link.path == "01/09506000134352/10/A%2FB%25C%26D%3FE%3CF%3EG%22H/21/x-._'()*!,;:=+"
    assert parse_path(link.path) == link
    assert parse_path("01/09506000134352/21/%41%62c") == DigitalLink(gtin=GTIN, serial="Abc")


@given(links())
def test_parse_inverts_format(link: DigitalLink) -> None:
    assert parse_path(link.path) == link
    assert parse_path("/" + link.path + "/") == link
    assert (
        link.uri("https://resolver.example/base/") == "https://resolver.example/base/" + link.path
    )


@given(links())
def test_path_keeps_the_fixed_qualifier_order(link: DigitalLink) -> None:
    ais = link.path.split("/")[::2]
    expected = ["01"] + [
        ai
        for ai, value in (("22", link.variant), ("10", link.lot), ("21", link.serial))
        if value is not None
    ]
    assert ais == expected


@pytest.mark.parametrize(
    "order", [p for p in itertools.permutations(["22", "10", "21"]) if p != ("22", "10", "21")]
)
def test_qualifiers_out_of_order_are_refused(order: tuple[str, ...]) -> None:
    path = "/".join(["01", GTIN, *(part for ai in order for part in (ai, "X1"))])
    assert "id" in refusal(parse_path, path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "01",
        "02/09506000134352",
        "01/09506000134352/10",
        "01/09506000134352/10/A/10/B",
        "01/09506000134352/21/A/21/B",
        "01/09506000134352/17/251231",
        "01/09506000134352//A",
        "01/09506000134353",
        "01/9506000134352",
        "01/09506000134352/10/",
        "01/09506000134352/10/%C3%A9",
        "01/09506000134352/10/%FF",
        "01/09506000134352/10/A%20B",
        "01/09506000134352/10/ABCDEFGHIJKLMNOPQRSTU",
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    assert refusal(parse_path, path)


@given(cset82_values)
def test_cset82_values_are_accepted(value: str) -> None:
    assert check_qualifier(value, field="lot") == value


@pytest.mark.parametrize("value", ["", "A" * 21, "é", "A B", "A#", "A\t", "A\x00", "\nA"])
def test_other_qualifiers_are_refused(value: str) -> None:
    assert refusal(check_qualifier, value, field="lot") == {
        "lot": ["must be 1-20 characters of the GS1 character set 82"]
    }


@pytest.mark.parametrize("value", ["ABC\n", "01/09506000134352/10/ABC%0A"])
def test_a_trailing_newline_is_refused(value: str) -> None:
    check = parse_path if value.startswith("01/") else lambda v: check_qualifier(v, field="lot")
    with pytest.raises(InvalidInput):
        check(value)


def reference_serial(entropy: bytes) -> str:
    """Spell the first 65 bits of `entropy` in Crockford base32, five bits a character."""
    bits = "".join(f"{byte:08b}" for byte in entropy)[: 5 * 13]
    return "".join(SERIAL_ALPHABET[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


def test_serial_known_answers() -> None:
    assert SERIAL_ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
    assert (SERIAL_LENGTH, SERIAL_ENTROPY_BYTES) == (13, 9)
    assert serial_from(bytes(9)) == "0" * 13
    assert serial_from(b"\xff" * 9) == "Z" * 13
    # 0x08 0x86 0x42 … : the bit string 00001 00010 00011 … spells 1, 2, 3, …
    assert serial_from(bytes.fromhex("08864298e84a96c680")) == "123456789ABCD"
    for length in (0, 8, 10):
        with pytest.raises(ValueError, match="9 bytes"):
            serial_from(bytes(length))


@given(st.binary(min_size=9, max_size=9))
def test_serials_spell_65_bits_of_entropy(entropy: bytes) -> None:
    serial = serial_from(entropy)
    assert serial == reference_serial(entropy)
    assert check_qualifier(serial, field="serial") == serial
    assert serial_from(entropy[:-1] + bytes([entropy[-1] ^ 0x7F])) == serial  # 7 bits unused
    assert serial_from(bytes([entropy[0] ^ 0x80]) + entropy[1:]) != serial


def test_make_link_per_granularity() -> None:
    entropy = bytes(range(9))
    model = make_link(
        gtin="4006381333931", granularity=Granularity.MODEL, variant="2A", entropy=entropy
    )
    assert model == DigitalLink(gtin="04006381333931", variant="2A")
    assert model.granularity is Granularity.MODEL
    batch = make_link(gtin=GTIN, granularity=Granularity.BATCH, lot="L1", entropy=entropy)
    assert batch == DigitalLink(gtin=GTIN, lot="L1")
    assert batch.granularity is Granularity.BATCH
    item = make_link(
        gtin=GTIN, granularity=Granularity.ITEM, lot="L1", serial="S1", entropy=entropy
    )
    assert item == DigitalLink(gtin=GTIN, lot="L1", serial="S1")
    assert item.granularity is Granularity.ITEM
    generated = make_link(gtin=GTIN, granularity=Granularity.ITEM, entropy=entropy)
    assert generated == DigitalLink(gtin=GTIN, serial=serial_from(entropy))
    assert generated.granularity is Granularity.ITEM
    assert parse_path(generated.path) == generated


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"granularity": Granularity.MODEL, "lot": "L1"}, "granularity"),
        ({"granularity": Granularity.MODEL, "serial": "S1"}, "granularity"),
        ({"granularity": Granularity.BATCH}, "lot"),
        ({"granularity": Granularity.BATCH, "lot": "L1", "serial": "S1"}, "serial"),
        ({"granularity": Granularity.ITEM, "serial": "S 1"}, "serial"),
        ({"granularity": Granularity.BATCH, "lot": "L#1"}, "lot"),
        ({"granularity": Granularity.MODEL, "variant": ""}, "variant"),
        ({"granularity": Granularity.MODEL, "gtin": "4006381333932"}, "gtin"),
    ],
)
def test_make_link_refusals(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"gtin": GTIN, "entropy": bytes(9), **kwargs}
    assert field in refusal(make_link, **arguments)
