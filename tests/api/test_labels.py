"""QR codes and label sheets: every code decodes, with a real decoder, to exactly the
passport's Digital Link URI at error correction level M; sheets hold 21 labels a page."""

from __future__ import annotations

import io
import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
import resvg_py
import zxingcpp
from flask.testing import FlaskClient, FlaskCliRunner
from PIL import Image, ImageDraw

from passport.core.errors import InvalidInput
from passport.core.product.gs1 import parse_path, path_on
from passport.services.labels import selection
from passport.services.labels.qr import qr_matrix
from passport.services.labels.sheet import MAX_LABELS, Label, label_sheet, printable
from tests.helpers import BASE_URL, bearer, example

PASSPORTS = "/api/v1/passports"
LABELS = "/api/v1/labels"
UNKNOWN = "01/08712345678906/21/NOSUCHSERIAL"
RECTANGLE = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\b")


def issue(client: FlaskClient, token: str, **envelope: Any) -> dict[str, Any]:
    """Issue a textile passport with `envelope` changed (serial, product …); return the answer."""
    answer = client.post(PASSPORTS, json={**example("textile"), **envelope}, headers=bearer(token))
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def issue_many(client: FlaskClient, token: str, count: int) -> list[str]:
    """Issue `count` textile passports in one bulk call; return their ids."""
    answer = client.post(
        f"{PASSPORTS}:bulk", json=[example("textile")] * count, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    return [p["id"] for p in answer.get_json()["passports"]]


def decoded(image: Image.Image) -> list[tuple[str, str]]:
    """Every QR code zxing-cpp finds in `image`: (text, error-correction level)."""
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [(code.text, code.ec_level) for code in found]


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """Check an answer is the problem detail of `status`; return its body."""
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == status
    return body


def page_image(page: pypdf.PageObject, scale: float = 3.0) -> Image.Image:
    """Rasterise the filled rectangles of a page (the QR modules; the sheet draws nothing
    else as rectangles), `scale` pixels a point: pypdf reads PDFs, it does not render them."""
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    image = Image.new("L", (round(width * scale), round(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for match in RECTANGLE.finditer(page.get_contents().get_data()):
        x, y, w, h = (float(v) for v in match.groups())
        box = [x * scale, (height - y - h) * scale, (x + w) * scale, (height - y) * scale]
        draw.rectangle([round(v) for v in box], fill=0)
    return image


def hri_of(passport_id: str) -> str:
    """The HRI a label shows for a textile example passport (lot and serial)."""
    link = parse_path(passport_id)
    return f"(01) {link.gtin} (10) {link.lot} (21) {link.serial}"


# QR codes


@pytest.mark.parametrize("size", [100, None, 1000])
def test_png_decodes_to_exactly_the_digital_link_uri(
    client: FlaskClient, maker: str, size: int | None
) -> None:
    passport = issue(client, maker)
    query = "" if size is None else f"?size={size}"
    answer = client.get(f"{PASSPORTS}/{passport['id']}/qr.png{query}")
    assert answer.status_code == 200
    assert answer.mimetype == "image/png"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    image = Image.open(io.BytesIO(answer.data))
    assert image.format == "PNG"
    assert image.size == (size or 400,) * 2
    assert decoded(image) == [(f"{BASE_URL}/{passport['id']}", "M")]
    assert passport["uri"] == f"{BASE_URL}/{passport['id']}"


@pytest.mark.parametrize("size", [None, 25, 12.5])
def test_svg_prints_at_its_size_and_decodes_to_the_uri(
    client: FlaskClient, maker: str, size: float | None
) -> None:
    passport = issue(client, maker)
    query = "" if size is None else f"?size={size}"
    answer = client.get(f"{PASSPORTS}/{passport['id']}/qr.svg{query}")
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    root = ET.fromstring(answer.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    millimetres = size or 30
    assert root.get("width") == root.get("height") == f"{millimetres:g}mm"
    modules = len(qr_matrix(passport["uri"]))
    assert root.get("viewBox") == f"0 0 {modules} {modules}"
    # resvg-py turns mm into pixels only with a dpi (its default, 0, fails the size).
    png = bytes(resvg_py.svg_to_bytes(svg_string=answer.get_data(as_text=True), dpi=300.0))
    image = Image.open(io.BytesIO(png))
    assert abs(image.width - millimetres / 25.4 * 300) <= 1
    assert decoded(image) == [(f"{BASE_URL}/{passport['id']}", "M")]


@pytest.mark.parametrize("serial", ["A/B", "PC-%41", "Q?&=+;(x)"])
def test_a_serial_that_needs_percent_encoding_round_trips(
    client: FlaskClient, maker: str, serial: str
) -> None:
    passport = issue(client, maker, serial=serial)
    assert "%" in passport["id"]  # escaped in the path
    for image in ("qr.png", "qr.svg"):
        answer = client.get(f"{PASSPORTS}/{passport['id']}/{image}")
        assert answer.status_code == 200, answer.get_json()
        if image == "qr.svg":
            png = resvg_py.svg_to_bytes(svg_string=answer.get_data(as_text=True), dpi=300.0)
            picture = Image.open(io.BytesIO(bytes(png)))
        else:
            picture = Image.open(io.BytesIO(answer.data))
        [(text, level)] = decoded(picture)
        assert (text, level) == (passport["uri"], "M")
        path = path_on(text, BASE_URL)
        assert path is not None
        assert parse_path(path).serial == serial


def test_a_serial_named_like_the_image_is_a_passport_not_an_image(
    client: FlaskClient, maker: str
) -> None:
    """An even path is a passport: …/21/qr.svg is the passport whose serial is qr.svg."""
    passport = issue(client, maker, serial="qr.svg")
    assert passport["id"].endswith("/21/qr.svg")
    read = client.get(f"{PASSPORTS}/{passport['id']}")
    assert read.status_code == 200
    assert read.get_json()["id"] == passport["id"]
    image = client.get(f"{PASSPORTS}/{passport['id']}/qr.svg")
    assert image.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    ("image", "size"),
    [
        ("qr.png", "99"),
        ("qr.png", "4001"),
        ("qr.png", "big"),
        ("qr.png", "400.5"),
        ("qr.svg", "9.9"),
        ("qr.svg", "201"),
        ("qr.svg", "nan"),
        ("qr.svg", "inf"),
    ],
)
def test_a_bad_size_is_a_problem(client: FlaskClient, maker: str, image: str, size: str) -> None:
    passport = issue(client, maker)
    answer = client.get(f"{PASSPORTS}/{passport['id']}/{image}?size={size}")
    assert "query.size" in assert_problem(answer, 422)["errors"]


@pytest.mark.parametrize("image", ["qr.png", "qr.svg"])
@pytest.mark.parametrize("passport_id", [UNKNOWN, "01/08712345678906/21/X/10/Y", "01/123"])
def test_an_unknown_passport_has_no_qr_code(
    client: FlaskClient, image: str, passport_id: str
) -> None:
    answer = client.get(f"{PASSPORTS}/{passport_id}/{image}")
    assert "no passport" in assert_problem(answer, 404)["detail"]


# Label sheets


def test_a_sheet_of_25_is_two_pages_of_labels_that_decode(client: FlaskClient, maker: str) -> None:
    ids = issue_many(client, maker, 25)
    answer = client.post(LABELS, headers=bearer(maker), json={"passports": ids})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="labels.pdf"'
    pdf = pypdf.PdfReader(io.BytesIO(answer.data))
    assert len(pdf.pages) == 2
    assert pdf.metadata is not None
    assert pdf.metadata.title == "Product passport labels"
    texts = [" ".join(page.extract_text().split()) for page in pdf.pages]
    assert [text.count("(01) 08712345678906") for text in texts] == [21, 4]
    for number, passport_id in enumerate(ids):
        assert hri_of(passport_id) in texts[number // 21]
    assert texts[0].count("Twentse wollen deken") == 21  # the public credential's name
    # Every label's code, read back from the page's vector modules, is its passport's URI.
    first = decoded(page_image(pdf.pages[0]))
    assert sorted(first) == sorted((f"{BASE_URL}/{i}", "M") for i in ids[:21])
    assert sorted(decoded(page_image(pdf.pages[1]))) == sorted(
        (f"{BASE_URL}/{i}", "M") for i in ids[21:]
    )


def test_the_ids_a_bulk_answer_gives_print_in_order_uris_too(
    client: FlaskClient, maker: str
) -> None:
    ids = issue_many(client, maker, 3)
    named = [ids[2], f"{BASE_URL}/{ids[0]}", ids[1]]
    answer = client.post(LABELS, headers=bearer(maker), json={"passports": named})
    assert answer.status_code == 200, answer.get_json()
    text = " ".join(pypdf.PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
    positions = [text.index(hri_of(i)) for i in (ids[2], ids[0], ids[1])]
    assert positions == sorted(positions)


def test_an_issuer_prints_what_it_issued_since_a_time(client: FlaskClient, maker: str) -> None:
    older = issue_many(client, maker, 2)
    time.sleep(1.05 - time.time() % 1)  # issue times are whole seconds
    newer = issue_many(client, maker, 3)
    listed = client.get(f"{PASSPORTS}?issuer=maker").get_json()["passports"]
    since = min(p["issued_at"] for p in listed if p["id"] in newer)
    assert all(p["issued_at"] < since for p in listed if p["id"] in older)
    selections = [
        ({"issuer": "maker"}, older + newer),
        ({"issuer": "maker", "since": since}, newer),
    ]
    for body, expected in selections:
        answer = client.post(LABELS, headers=bearer(maker), json=body)
        assert answer.status_code == 200, answer.get_json()
        text = " ".join(pypdf.PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
        assert text.count("(01) ") == len(expected)
        assert all(hri_of(i) in text for i in expected)


def test_a_name_in_any_script_prints_and_long_text_is_cut(client: FlaskClient, maker: str) -> None:
    product = example("textile")["product"]
    long_word = "Superbreedgewevenwollendekenmetfranje"  # wider than a line: broken inside
    product["name"] = f"Łódź deken ő 日本 ✓ — {long_word} " + "Superbreed " * 12  # 200 at most
    passport = issue(client, maker, product=product, serial="A/B")
    answer = client.post(LABELS, headers=bearer(maker), json={"passports": [passport["id"]]})
    assert answer.status_code == 200, answer.get_json()
    text = pypdf.PdfReader(io.BytesIO(answer.data)).pages[0].extract_text()
    assert "Lódz deken o ?? ? —" in " ".join(text.split())
    assert long_word not in text  # broken over lines
    assert long_word in text.replace("\n", "")
    assert "…" in text  # the name is cut to the lines that fit
    assert "(21) A/B" in text  # the value as it is, not percent-encoded
    assert printable("a\u200bb\nc\u0000d e\u0301") == "ab c d é"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"passports": []}, 422, "passports"),
        ({"passports": ["01/08712345678906"] * 1001}, 422, "passports"),
        ({"passports": [UNKNOWN]}, 404, "passports.0"),
        ({"passports": ["nonsense"]}, 422, "passports.0"),
        ({"passports": ["https://elsewhere.example/01/08712345678906"]}, 422, "passports.0"),
        ({"passports": [7]}, 422, "passports.0"),
        ({}, 422, "passports"),
        ({"issuer": "maker", "passports": [UNKNOWN]}, 422, "passports"),
        ({"passports": [UNKNOWN], "since": "2026-01-01T00:00:00Z"}, 422, "since"),
        ({"issuer": "nobody"}, 404, "issuer"),
        ({"issuer": "maker", "since": "2026-01-01T00:00:00"}, 422, "since"),
        ({"issuer": "maker", "since": "2999-01-01T00:00:00Z"}, 422, "since"),
    ],
)
def test_a_bad_selection_is_a_problem_never_a_500(
    client: FlaskClient, maker: str, body: dict[str, Any], status: int, field: str
) -> None:
    issue(client, maker)
    problem = assert_problem(client.post(LABELS, headers=bearer(maker), json=body), status)
    assert field in problem["errors"], problem


def test_unknown_ids_are_named_together(client: FlaskClient, maker: str) -> None:
    known = issue(client, maker)["id"]
    other = "01/08712345678906/21/ALSOMISSING"
    answer = client.post(LABELS, headers=bearer(maker), json={"passports": [UNKNOWN, known, other]})
    problem = assert_problem(answer, 404)
    assert f"no passport {UNKNOWN} (and 1 more)" in problem["detail"]
    assert problem["errors"] == {
        "passports.0": [f"no passport {UNKNOWN}"],
        "passports.2": [f"no passport {other}"],
    }


def test_a_body_that_is_not_json_is_a_problem(client: FlaskClient, maker: str) -> None:
    answer = client.post(
        LABELS, headers=bearer(maker), data="passports=1", content_type="text/plain"
    )
    assert_problem(answer, 415)


def test_more_labels_than_a_sheet_holds_are_refused(
    client: FlaskClient, maker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_many(client, maker, 4)
    monkeypatch.setattr(selection, "MAX_LABELS", 3)
    problem = assert_problem(
        client.post(LABELS, headers=bearer(maker), json={"issuer": "maker"}), 422
    )
    assert "maker issued more than 3 passports" in problem["detail"]
    with pytest.raises(InvalidInput, match="more than one sheet holds"):
        label_sheet(
            [Label("https://x.example/01/08712345678906", "n", "(01) x")] * (MAX_LABELS + 1)
        )
    with pytest.raises(InvalidInput, match="no labels"):
        label_sheet([])


# The command line


def test_the_cli_writes_a_sheet_of_an_organisations_passports(
    client: FlaskClient, runner: FlaskCliRunner, maker: str, tmp_path: Path
) -> None:
    ids = issue_many(client, maker, 22)
    output = tmp_path / "labels.pdf"
    result = runner.invoke(args=["labels", "--org", "maker", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"wrote 22 labels on 2 pages to {output}"
    pdf = pypdf.PdfReader(output)
    assert len(pdf.pages) == 2
    assert sum(page.extract_text().count("(01) ") for page in pdf.pages) == len(ids)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = runner.invoke(args=["labels", "--org", "maker", "--since", future, "-o", str(output)])
    assert later.exit_code == 1
    assert "maker issued no passports since" in later.output


def test_the_cli_refuses_an_unknown_organisation(runner: FlaskCliRunner, tmp_path: Path) -> None:
    output = tmp_path / "labels.pdf"
    result = runner.invoke(args=["labels", "--org", "nobody", "-o", str(output)])
    assert result.exit_code == 1
    assert "no organisation 'nobody'" in result.output
    assert not output.exists()
    bad = runner.invoke(args=["labels", "--org", "nobody", "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "is no time" in bad.output


def test_a_sheet_needs_a_token(client: FlaskClient, maker: str) -> None:
    passport = issue(client, maker)
    answer = client.post(LABELS, json={"passports": [passport["id"]]})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
