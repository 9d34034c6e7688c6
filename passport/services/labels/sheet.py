"""A4 sheets of passport labels: QR code, product name and the GS1 human-readable identity.

The grid is that of the common 21-up A4 label stock (3 × 7 labels of 63.5 × 38.1 mm, Avery
L7160 and its equivalents), so a sheet prints straight onto it. The QR codes are vector
rectangles drawn from `qr_matrix`, the same modules as the API's images. The text uses
reportlab's standard fonts, which draw WinAnsi (cp1252) only: other characters are folded to
a plain letter where Unicode gives one (ő → o), else replaced by "?", never left to fail.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from passport.core.errors import InvalidInput
from passport.services.labels.qr import dark_runs, qr_matrix

MAX_LABELS = 10_000  # 477 pages; more is a job for several sheets

COLUMNS, ROWS = 3, 7
PER_PAGE = COLUMNS * ROWS
LABEL_W, LABEL_H = 63.5 * mm, 38.1 * mm
PITCH_X = 66.0 * mm  # 2.5 mm between columns, none between rows
MARGIN_X = (A4[0] - (COLUMNS - 1) * PITCH_X - LABEL_W) / 2  # 7.25 mm
MARGIN_TOP = (A4[1] - ROWS * LABEL_H) / 2  # 15.15 mm
QR_SIDE = 32 * mm  # quiet zone included, so text may start right beside it
INSET = 1.5 * mm  # kept clear along the label's edges
TEXT_W = LABEL_W - QR_SIDE - 2 * INSET
NAME_FONT, NAME_SIZE, NAME_LEADING = "Helvetica-Bold", 8.0, 9.5
HRI_FONT, HRI_SIZE, HRI_MIN_SIZE, HRI_LEADING = "Helvetica", 7.0, 4.5, 8.5
ELLIPSIS = "…"  # in WinAnsi
NAME_MAX_LINES = 4
_AI = re.compile(r"\(\d{2,4}\)")
_FOLDED = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h"})


@dataclass(frozen=True, slots=True)
class Label:
    """One label: the Digital Link URI its QR code encodes, the product name and the GS1
    human-readable identity, `(01) …` then `(22) …`, `(10) …`, `(21) …` as present."""

    uri: str
    name: str
    hri: str


def label_sheet(labels: Sequence[Label], *, title: str = "Product passport labels") -> bytes:
    """Return a PDF of `labels`, 21 to an A4 page in rows from the top left.

    An empty list, or more than MAX_LABELS, is refused: neither makes a useful print job.
    """
    if not labels:
        raise InvalidInput("no labels to print", errors={"passports": ["name at least one"]})
    if len(labels) > MAX_LABELS:
        raise InvalidInput(
            f"{len(labels)} labels are more than one sheet holds ({MAX_LABELS:,}); "
            "print them in parts",
            errors={"passports": [f"at most {MAX_LABELS:,} labels a sheet"]},
        )
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(printable(title))
    canvas.setSubject(f"{len(labels)} labels with the QR codes of GS1 Digital Link URIs")
    canvas.setCreator("passport-ledger")
    canvas.setAuthor("passport-ledger")
    for number, label in enumerate(labels):
        slot = number % PER_PAGE
        if number and not slot:
            canvas.showPage()
        row, column = divmod(slot, COLUMNS)
        _draw_label(canvas, label, MARGIN_X + column * PITCH_X, A4[1] - MARGIN_TOP - row * LABEL_H)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def pages_for(count: int) -> int:
    """Return how many pages a sheet of `count` labels takes."""
    return -(-count // PER_PAGE)


def _draw_label(canvas: Canvas, label: Label, left: float, top: float) -> None:
    """Draw one label whose top left corner is (`left`, `top`) in points."""
    bottom = top - LABEL_H
    _draw_qr(canvas, label.uri, left + INSET, bottom + (LABEL_H - QR_SIDE) / 2)
    x = left + INSET + QR_SIDE
    hri = [_fitted(part, HRI_FONT, HRI_SIZE, TEXT_W) for part in _hri_lines(label.hri)]
    hri_top = bottom + INSET + HRI_SIZE + (len(hri) - 1) * HRI_LEADING  # first HRI baseline
    for n, (text, size) in enumerate(hri):
        canvas.setFont(HRI_FONT, size)
        canvas.drawString(x, hri_top - n * HRI_LEADING, text)
    room = top - INSET - (hri_top + HRI_LEADING)  # between the label's top and the HRI
    lines = _wrapped(printable(label.name), NAME_FONT, NAME_SIZE, TEXT_W, _name_lines(room))
    canvas.setFont(NAME_FONT, NAME_SIZE)
    for n, line in enumerate(lines):
        canvas.drawString(x, top - INSET - NAME_SIZE - n * NAME_LEADING, line)


def _name_lines(room: float) -> int:
    """How many lines of the name fit in `room` points, at most NAME_MAX_LINES."""
    return max(0, min(NAME_MAX_LINES, int(room // NAME_LEADING)))


def _draw_qr(canvas: Canvas, uri: str, x: float, y: float) -> None:
    """Draw the QR code of `uri` (quiet zone included) as a QR_SIDE square at (`x`, `y`)."""
    matrix = qr_matrix(uri)
    module = QR_SIDE / len(matrix)
    path = canvas.beginPath()
    for row, column, length in dark_runs(matrix):
        path.rect(x + column * module, y + QR_SIDE - (row + 1) * module, length * module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _hri_lines(hri: str) -> list[str]:
    """Split `(01) … (21) …` into one line per element string: an `(AI)` starts a line once
    the line before has its value (GS1 values hold no spaces, so spaces separate the parts)."""
    lines: list[list[str]] = []
    for token in hri.split():
        if not lines or (len(lines[-1]) > 1 and _AI.fullmatch(token)):
            lines.append([token])
        else:
            lines[-1].append(token)
    return [" ".join(line) for line in lines] or [""]


def _fitted(text: str, font: str, size: float, width: float) -> tuple[str, float]:
    """Return `text` with the largest font size down to HRI_MIN_SIZE that fits `width`,
    cut with an ellipsis if even that is too wide."""
    text = printable(text)
    while size > HRI_MIN_SIZE and stringWidth(text, font, size) > width:
        size = max(HRI_MIN_SIZE, size - 0.5)
    return _cut(text, font, size, width), size


def _wrapped(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Return `text` broken into at most `max_lines` lines of `width`: at spaces, inside a
    word too long for a line, and the last line cut with an ellipsis if text is left over."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while stringWidth(line, font, size) > width and len(line) > 1:
            cut = _cut(line, font, size, width, mark="")
            lines.append(cut)
            line = line[len(cut) :]
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        kept = lines[: max(max_lines, 0)]
        if kept:
            kept[-1] = _cut(kept[-1] + ELLIPSIS, font, size, width)
        return kept
    return lines


def _cut(text: str, font: str, size: float, width: float, mark: str = ELLIPSIS) -> str:
    """Return `text` if it fits `width`, else its longest head that fits followed by `mark`
    (at least one character, so that a line always moves on)."""
    if stringWidth(text, font, size) <= width:
        return text
    end = len(text)
    while end > 1 and stringWidth(text[:end] + mark, font, size) > width:
        end -= 1
    return text[:end] + mark


def printable(text: str) -> str:
    """Return `text` as the standard PDF fonts can draw it (WinAnsi): accents a font lacks
    dropped (ő → o), other characters outside WinAnsi as "?", line breaks and control
    characters as spaces, invisible format characters and stray combining marks left out."""
    out = []
    for char in unicodedata.normalize("NFC", text).translate(_FOLDED):
        kind = unicodedata.category(char)
        if kind in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif kind in ("Cf", "Mn", "Me"):
            continue
        elif _winansi(char):
            out.append(char)
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if _winansi(c))
            out.append(base or "?")
    return "".join(out)


def _winansi(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True
