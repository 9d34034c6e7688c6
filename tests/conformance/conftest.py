"""Fixtures for the public conformance material kept next to the project."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Return the shared conformance folder, failing loudly when it is absent."""
    if not CONFORMANCE_DIR.is_dir():
        pytest.fail(
            f"conformance material missing: expected {CONFORMANCE_DIR} "
            "(../shared/conformance relative to the project root); these tests never skip"
        )
    return CONFORMANCE_DIR
