"""What the services need from the running app, gathered once in `create_app`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from passport.core.lifecycle.rules import event_rules
from passport.core.product.rules import CATEGORIES, ProductRules
from passport.services.ledger.sequencer import Sequencer
from passport.services.ledger.status_indices import StatusIndices
from passport.store.keystore import KeyStore

# The top-level schemas/ folder, shipped as the package `passport.schemas` (pyproject maps it), so
# it is found the same way from a wheel and from an editable install. Read it only through here.
SCHEMAS_DIR: Traversable = files("passport.schemas")


def load_schemas(directory: Traversable = SCHEMAS_DIR) -> dict[str, dict[str, Any]]:
    """Read the product JSON Schemas, one per category."""
    return {name: _read(directory / f"{name}.schema.json") for name in CATEGORIES}


def load_event_rules(directory: Traversable = SCHEMAS_DIR) -> ProductRules:
    """Build the event rules from `events/{kind}.schema.json` and `events/common.schema.json`."""
    folder = directory / "events"
    schemas = {
        entry.name.removesuffix(".schema.json"): _read(entry)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".schema.json") and entry.name != "common.schema.json"
    }
    return event_rules(schemas, _read(folder / "common.schema.json"))


def _read(entry: Traversable) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """Keys, product and event rules and the public base URL, shared by every request of one app."""

    keys: KeyStore
    rules: ProductRules
    events: ProductRules
    schemas: dict[str, dict[str, Any]]
    base_url: str
    sequencer: Sequencer
    status: StatusIndices
    bulk_max_rows: int = 10_000
