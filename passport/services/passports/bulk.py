"""Bulk rows: CSV to envelopes by the product schema's property types, with row errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from passport.core.errors import InvalidInput

ENVELOPE_COLUMNS = ("category", "granularity", "gtin", "variant", "lot", "serial")
Loader = Callable[[object], tuple[dict[str, Any] | None, dict[str, list[str]]]]


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


def _cell(value: str, prop: Mapping[str, Any]) -> Any:
    kind = prop.get("type")
    if kind == "string":
        return value
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError("expected true or false")
        return lowered == "true"
    return json.loads(value)


def csv_rows(text: str, schemas: Mapping[str, Mapping[str, Any]], load: Loader) -> BulkRows:
    """Parse CSV text: envelope columns plus one column per top-level product field."""
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in ("category", "granularity", "gtin") if c not in header]
    if missing:
        raise InvalidInput("CSV header is incomplete", errors={"header": [f"missing {missing}"]})
    rows = BulkRows()
    for number, record in enumerate(reader, start=1):
        errors: dict[str, list[str]] = {}
        category = record.get("category") or ""
        properties = schemas.get(category, {}).get("properties", {})
        envelope: dict[str, Any] = {c: record[c] for c in ENVELOPE_COLUMNS if record.get(c)}
        product: dict[str, Any] = {}
        for column, raw in record.items():
            if column is None:
                errors["row"] = ["more cells than header columns"]
                continue
            if column in ENVELOPE_COLUMNS or raw is None or raw == "":
                continue
            prop = properties.get(column)
            if prop is None:
                product[column] = raw  # the schema check names the unknown field
                continue
            try:
                product[column] = _cell(raw, prop)
            except ValueError as exc:
                errors[f"product.{column}"] = [f"cannot read {raw!r}: {exc}"]
        envelope["product"] = product
        loaded, envelope_errors = load(envelope)
        errors.update(envelope_errors)
        rows.add(number, None if errors else loaded, errors)
    return rows
