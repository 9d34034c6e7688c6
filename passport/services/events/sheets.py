"""Events from a scanner export or a spreadsheet: CSV rows into event requests.

RFC 4180 CSV, UTF-8, a header row. The columns are `passport` (its Digital Link path or URI),
`kind`, then one column per scalar of the event, named by its path in the event JSON: nested
fields dotted (`place.country`, `facility.gln`, `recipient.type`), items of a list numbered
from 1 without gaps (`parts_replaced.1.part`, `parts_replaced.1.mass_g`). Masses and
quantities (columns ending in `_g`, or `quantity`) are integers; every other cell is text as
sent; an empty cell means absent. Errors name the row and the column.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from passport.core.errors import InvalidInput

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_INDEX = re.compile(r"[1-9][0-9]{0,3}")
Row = tuple[dict[str, Any] | None, dict[str, list[str]]]


def _cell(column: str, value: str) -> Any:
    last = column.rsplit(".", 1)[-1]
    if last.endswith("_g") or last == "quantity":
        if not _INTEGER.fullmatch(value.strip()):
            raise ValueError("must be a whole number")
        return int(value.strip())
    return value


def _put(target: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set `value` at the dotted path `parts` (numbers are 1-based list positions)."""
    holder: Any = target
    for part, following in zip(parts, [*parts[1:], None], strict=True):
        key: Any = int(part) - 1 if _INDEX.fullmatch(part) else part
        if isinstance(holder, dict) and isinstance(key, int):
            raise ValueError("a number follows only the name of a list (parts_replaced.1.part)")
        if isinstance(holder, list) and not isinstance(key, int):
            raise ValueError("a list's items are numbered from 1")
        if following is None:
            holder[key] = value
            return
        empty: Any = [] if _INDEX.fullmatch(following) else {}
        if isinstance(holder, list):
            while len(holder) <= key:
                holder.append(None)
            if holder[key] is None:
                holder[key] = empty
        else:
            holder.setdefault(key, empty)
        holder = holder[key]


def _listify(value: Any, path: str, errors: dict[str, list[str]]) -> Any:
    """Turn the numbered dicts into lists; a gap in the numbering is an error."""
    if isinstance(value, dict):
        return {k: _listify(v, f"{path}.{k}" if path else k, errors) for k, v in value.items()}
    if isinstance(value, list):
        if any(item is None for item in value):
            errors.setdefault(path, []).append("items are numbered from 1 without gaps")
        return [
            _listify(v, f"{path}.{i + 1}", errors) for i, v in enumerate(value) if v is not None
        ]
    return value


def event_rows(text: str) -> list[Row]:
    """Return each data row as an event request (or None) with its errors by column."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or "passport" not in header or "kind" not in header:
        raise InvalidInput(
            "the CSV needs a header row", errors={"header": ["columns passport and kind"]}
        )
    if len(set(header)) != len(header):
        raise InvalidInput("a column is named twice", errors={"header": ["repeated column"]})
    rows: list[Row] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        errors: dict[str, list[str]] = {}
        if len(cells) != len(header):
            rows.append((None, {"row": [f"{len(cells)} cells, the header has {len(header)}"]}))
            continue
        item: dict[str, Any] = {}
        for column, value in zip(header, cells, strict=True):
            if value == "":
                continue
            try:
                _put(item, column.split("."), _cell(column, value))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                errors.setdefault(column, []).append(str(exc) or "cannot be read")
        item = _listify(item, "", errors)
        rows.append((None if errors else item, errors))
    return rows
