"""QR codes of Digital Link URIs: error correction M and the 4-module quiet zone, as SVG or PNG.

One function makes the modules (`qr_matrix`); the SVG, the PNG and the label sheet draw that
matrix, so every rendering of a passport encodes exactly the same symbol. Level M restores
15 % of the codewords, enough for a scuffed care label while keeping the symbol small; the
quiet zone of 4 modules is what ISO/IEC 18004 asks of a QR code, and it is part of every image.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

from passport.core.errors import InvalidInput

QUIET_ZONE = 4  # modules of light margin on every side (ISO/IEC 18004)

Matrix = tuple[tuple[bool, ...], ...]


@dataclass(frozen=True, slots=True)
class SizeRange:
    """The sizes an image may be asked for: a default and inclusive bounds."""

    default: float
    low: float
    high: float
    unit: str

    def check(self, size: float) -> float:
        """Return `size` if it lies within the bounds; InvalidInput otherwise."""
        if not self.low <= size <= self.high:  # also refuses NaN
            raise InvalidInput(
                f"size {size} is out of range",
                errors={"size": [f"must be {self.low:g}-{self.high:g} {self.unit}"]},
            )
        return size


PNG_PIXELS = SizeRange(default=400, low=100, high=4000, unit="pixels")
SVG_MILLIMETRES = SizeRange(default=30, low=10, high=200, unit="mm")


def qr_matrix(uri: str) -> Matrix:
    """Return the modules of the QR code of `uri` (True is dark), quiet zone included.

    Error correction M, the smallest version that holds the URI, and the mask the penalty
    rules of ISO/IEC 18004 choose.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1)
    code.add_data(uri)
    try:
        code.make(fit=True)
    except DataOverflowError:
        raise InvalidInput(
            "the URI is too long for a QR code", errors={"uri": ["too long for a QR code"]}
        ) from None
    return tuple(tuple(bool(module) for module in row) for row in code.get_matrix())


def dark_runs(matrix: Matrix) -> Iterator[tuple[int, int, int]]:
    """Yield each horizontal run of dark modules as (row, first column, length).

    Drawing runs rather than single modules leaves no seams between neighbours and makes an
    image a few times smaller.
    """
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            yield y, start, x - start


def qr_svg(uri: str, size_mm: float = SVG_MILLIMETRES.default) -> bytes:
    """Return the QR code of `uri` as an SVG document `size_mm` millimetres square.

    The viewBox counts modules, so the symbol scales to any size without resampling; width
    and height in mm make it print at exactly that size. One path draws the dark modules on
    a white square, so the code scans on a dark background too.
    """
    SVG_MILLIMETRES.check(size_mm)
    matrix = qr_matrix(uri)
    n = len(matrix)
    path = "".join(f"M{x} {y}h{w}v1h-{w}z" for y, x, w in dark_runs(matrix))
    mm = f"{round(size_mm, 2):g}mm"
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{mm}" height="{mm}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f"<title>{escape(uri)}</title>"
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/>'
        "</svg>\n"
    )
    return svg.encode("utf-8")


def qr_png(uri: str, size: int = int(PNG_PIXELS.default)) -> bytes:
    """Return the QR code of `uri` as a PNG exactly `size` pixels square.

    Every module is the same whole number of pixels (a fractional scale would make some
    modules wider than others and the code harder to read); the pixels left over widen the
    white margin evenly.
    """
    PNG_PIXELS.check(size)
    return png_of(qr_matrix(uri), size)


def png_of(matrix: Sequence[Sequence[bool]], size: int) -> bytes:
    """Return `matrix` drawn as a black-on-white PNG `size` pixels square (1 bit a pixel)."""
    n = len(matrix)
    scale = size // n
    if scale < 1:
        raise InvalidInput(
            f"size {size} is too small for this code",
            errors={"size": [f"this code needs at least {n} pixels"]},
        )
    modules = Image.new("1", (n, n), 1)
    modules.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = Image.new("1", (size, size), 1)
    offset = (size - n * scale) // 2
    image.paste(modules.resize((n * scale, n * scale), Image.Resampling.NEAREST), (offset,) * 2)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
