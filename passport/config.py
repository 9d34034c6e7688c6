"""Configuration read from the environment once, in `create_app`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def from_environment(
    instance_path: Path, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the app settings the environment gives, with defaults for a local run."""
    env = os.environ if environ is None else environ
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'passport.db'}",
        "DPP_BASE_URL": (env.get("DPP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        "DPP_KEYS_DIR": env.get("DPP_KEYS_DIR") or "keys",
        "DPP_KEY_PASSPHRASE": env.get("DPP_KEY_PASSPHRASE") or None,
        # "production" refuses to invent a key passphrase; anything else may, loudly.
        "DPP_ENV": env.get("DPP_ENV", "development"),
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "BULK_MAX_ROWS": 10_000,
    }
