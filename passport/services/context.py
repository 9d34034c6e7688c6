"""What the services need from the running app, gathered once in `create_app`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from passport.core.product.rules import CATEGORIES, ProductRules
from passport.services.ledger.sequencer import Sequencer
from passport.store.keystore import KeyStore

# The top-level schemas/ folder, shipped as the package `passport.schemas` (pyproject maps it), so
# it is found the same way from a wheel and from an editable install. Read it only through here.
SCHEMAS_DIR: Traversable = files("passport.schemas")


def load_schemas(directory: Traversable = SCHEMAS_DIR) -> dict[str, dict[str, Any]]:
    """Read the product JSON Schemas, one per category."""
    return {
        name: json.loads((directory / f"{name}.schema.json").read_text(encoding="utf-8"))
        for name in CATEGORIES
    }


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """Keys, product rules and the public base URL, shared by every request of one app."""

    keys: KeyStore
    rules: ProductRules
    schemas: dict[str, dict[str, Any]]
    base_url: str
    sequencer: Sequencer
    bulk_max_rows: int = 10_000
