"""Fixtures for the public conformance vectors vendored under tests/conformance/vectors/."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE_DIR = Path(__file__).resolve().parent / "vectors"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """Return the vendored vectors folder, failing loudly when it is absent."""
    if not CONFORMANCE_DIR.is_dir():
        pytest.fail(
            f"conformance vectors missing: expected {CONFORMANCE_DIR} "
            "(tests/conformance/vectors, see its README.md); these tests never skip"
        )
    return CONFORMANCE_DIR
