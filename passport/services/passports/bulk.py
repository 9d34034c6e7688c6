"""Bulk rows from CSV a spreadsheet can produce, with row errors; and the CSV templates.

The columns (RFC 4180 CSV, UTF-8, a header row) are the envelope columns `category`,
`granularity`, `gtin`, `variant`, `lot`, `serial`, then one column per scalar of the product,
named by its path in the product JSON:

- a nested field is a dotted name: `manufacturer.name`, `dimensions.width_mm`;
- language-keyed text takes the language code: `care_instructions.text.en`;
- an item of an array is numbered from 1, without gaps: `fibre_composition.1.fibre`,
  `fibre_composition.1.percent`, `fibre_composition.2.fibre`, …; an array of scalars is
  numbered directly: `care_instructions.symbols.1`; groups nest:
  `recycled_content.1.lots.2.mass_g`.

A cell is read by the type its JSON Schema gives: `integer` (ASCII digits, optional minus),
`boolean` (`true` or `false`, any case), `string` (the cell exactly as sent, line breaks
included). An empty cell means absent, so an empty array or object cannot be written. No cell
holds JSON. Each row builds the JSON request `POST /passports` takes and goes through the same
validation; errors name the row and the column (`product.` + the column for product data).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from passport.core.errors import InvalidInput, NotFound
from passport.services.context import SCHEMAS_DIR, ServiceContext

ENVELOPE_COLUMNS = ("category", "granularity", "gtin", "variant", "lot", "serial")
TEMPLATE_SLOTS = 5  # numbered groups in a template, unless the example needs more
Loader = Callable[[object], tuple[dict[str, Any] | None, dict[str, list[str]]]]
Path = tuple[str | int, ...]  # a scalar's place in the product; ints are 0-based indices
_NUMBER = re.compile(r"[1-9][0-9]{0,3}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_SCALARS = ("string", "integer", "boolean")


@dataclass
class BulkRows:
    """Rows of a bulk request, numbered from 1; a row is None when its envelope was bad."""

    rows: list[dict[str, Any] | None] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, number: int, row: dict[str, Any] | None, errors: Mapping[str, list[str]]) -> None:
        """Append row `number` with the errors found so far (none for a good row)."""
        self.rows.append(row)
        if errors:
            self.errors[number] = dict(errors)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any] | None]:
        return iter(self.rows)


def resolve(schema: Mapping[str, Any], column: str) -> tuple[Path, str]:
    """Return the product path and scalar type a column names; ValueError says why not."""
    node: Mapping[str, Any] = schema
    path: list[str | int] = []
    step: str | int
    for part in column.split("."):
        kind = node.get("type")
        if kind == "array":
            if not _NUMBER.fullmatch(part):
                raise ValueError(f"{part!r} must be an item number counted from 1")
            if int(part) > node.get("maxItems", 9999):
                raise ValueError(f"at most {node['maxItems']} items")
            node, step = node.get("items", {}), int(part) - 1
        elif kind == "object":
            known, keyed = node.get("properties", {}), node.get("patternProperties", {})
            pattern = next((p for p in keyed if re.fullmatch(p.strip("^$"), part)), None)
            if part not in known and pattern is None:
                raise ValueError(f"{part!r} is not a field here")
            node, step = known[part] if part in known else keyed[pattern], part
        else:
            raise ValueError(f"{'.'.join(map(str, path))} has no fields")
        path.append(step)
    if node.get("type") not in _SCALARS:
        raise ValueError("names an object or list; use a column per field, numbered from 1")
    return tuple(path), node["type"]


def _cell(value: str, kind: str) -> Any:
    if kind == "integer":
        if not _INTEGER.fullmatch(value):
            raise ValueError("expected a whole number")
        return int(value)
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise ValueError("expected true or false")
        return value.lower() == "true"
    return value


def _put(product: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = product
    for step, after in itertools.pairwise(path):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(step, int):
            node.extend([None] * (step + 1 - len(node)))
            node[step] = empty if node[step] is None else node[step]
            node = node[step]
        else:
            node = node.setdefault(step, empty)
    last = path[-1]
    if isinstance(last, int):
        node.extend([None] * (last + 1 - len(node)))
    node[last] = value


def _gaps(value: Any, column: str, errors: dict[str, list[str]]) -> None:
    if not isinstance(value, dict | list):
        return
    items = value.items() if isinstance(value, dict) else enumerate(value, start=1)
    for key, item in items:
        if item is None:
            errors[f"{column}.{key}"] = ["is empty but a later item is filled; number from 1"]
        else:
            _gaps(item, f"{column}.{key}", errors)


def _column_of(path: str) -> str:
    """Name the CSV column of a product error path: item numbers count from 1."""
    parts = path.split(".")
    return ".".join(str(int(p) + 1) if p.isdigit() else p for p in parts)


def _header(header: list[str], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Resolve each product column per category; refuse a column no category knows."""
    errors: list[str] = []
    missing = [c for c in ("category", "granularity", "gtin") if c not in header]
    if missing:
        errors.append(f"missing {missing}")
    if dupes := sorted({c for c in header if header.count(c) > 1}):
        errors.append(f"columns repeated: {dupes}")
    columns: dict[str, dict[str, tuple[Path, str]]] = {}
    for column in header:
        if column in ENVELOPE_COLUMNS:
            continue
        found, why = {}, ""
        for category, schema in schemas.items():
            try:
                found[category] = resolve(schema, column)
            except ValueError as exc:
                why = why or str(exc)
        if not found:
            errors.append(f"unknown column {column!r}: {why}")
        columns[column] = found
    if errors:
        raise InvalidInput("CSV header is invalid", errors={"header": errors})
    return columns


def csv_rows(text: str, ctx: ServiceContext, load: Loader) -> BulkRows:
    """Parse CSV text (RFC 4180) into envelope rows; never raise for one bad row."""
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(records, [])
        columns = _header(header, ctx.schemas)
        rows = BulkRows()
        for number, cells in enumerate((r for r in records if r), start=1):
            rows.add(number, *_row(header, cells, columns, ctx, load))
    except csv.Error as exc:
        line = f"line {records.line_num}: {exc}"
        raise InvalidInput("CSV is malformed", errors={"body": [line]}) from None
    return rows


def _row(
    header: list[str],
    cells: list[str],
    columns: Mapping[str, Mapping[str, tuple[Path, str]]],
    ctx: ServiceContext,
    load: Loader,
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if len(cells) != len(header):
        errors["row"] = [f"{len(cells)} cells for {len(header)} columns"]
    record = dict(zip(header, cells, strict=False))
    category = record.get("category", "")
    envelope: dict[str, Any] = {c: record[c] for c in ENVELOPE_COLUMNS if record.get(c)}
    product: dict[str, Any] = {}
    for column, raw in record.items():
        if column in ENVELOPE_COLUMNS or raw == "":
            continue
        resolved = columns[column].get(category)
        if resolved is None:
            if category in ctx.schemas:
                errors[f"product.{column}"] = [f"unknown column: not in the {category} schema"]
            continue
        try:
            _put(product, resolved[0], _cell(raw, resolved[1]))
        except ValueError as exc:
            errors[f"product.{column}"] = [f"cannot read {raw!r}: {exc}"]
    _gaps(product, "product", errors)
    envelope["product"] = product
    loaded, envelope_errors = load(envelope)
    errors.update(envelope_errors)
    if not errors and loaded is not None:
        try:
            ctx.rules.validate(category, product)
        except InvalidInput as exc:
            errors = {_column_of(k): list(v) for k, v in (exc.errors or {}).items()}
    return (None if errors else loaded), errors


# Templates: every column a category allows, and its example as one row.


def _columns(schema: Mapping[str, Any], example: Any, prefix: str) -> Iterator[str]:
    kind = schema.get("type")
    if kind in _SCALARS:
        yield prefix
    elif kind == "array":
        shown = len(example) if isinstance(example, list) else 0
        slots = min(schema.get("maxItems", 9999), max(TEMPLATE_SLOTS, shown))
        for number in range(1, slots + 1):
            item = example[number - 1] if number <= shown else None
            yield from _columns(schema.get("items", {}), item, f"{prefix}.{number}")
    elif kind == "object":
        given = example if isinstance(example, dict) else {}
        for name, child in schema.get("properties", {}).items():
            yield from _columns(child, given.get(name), f"{prefix}.{name}" if prefix else name)
        for pattern, child in schema.get("patternProperties", {}).items():
            languages = [k for k in given if re.fullmatch(pattern.strip("^$"), k)] or ["en"]
            for key in languages:
                yield from _columns(child, given.get(key), f"{prefix}.{key}")


def _cells(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value, start=1)
        for key, item in items:
            yield from _cells(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, str(value)


def template_csv(ctx: ServiceContext, category: str) -> str:
    """Return the CSV template of `category`: a header row and its example as one row."""
    if category not in ctx.schemas:
        raise NotFound(f"no template for {category!r}", errors={"category": ["unknown"]})
    text = (SCHEMAS_DIR / "examples" / f"{category}.json").read_text(encoding="utf-8")
    example = json.loads(text)
    product = example["product"]
    header = [*ENVELOPE_COLUMNS, *_columns(ctx.schemas[category], product, "")]
    row = {c: str(example[c]) for c in ENVELOPE_COLUMNS if c in example}
    row.update(_cells(product, ""))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    return buffer.getvalue()
