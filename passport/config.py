"""Configuration read from the environment once, in `create_app`."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def from_environment(
    instance_path: Path, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the app settings the environment gives, with defaults for a local run."""
    env = os.environ if environ is None else environ
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'passport.db'}",
        "DPP_BASE_URL": (env.get("DPP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        # Whether DPP_BASE_URL was given: a given one must agree with the stored identity
        # (`passport.instance`); without one, the stored base URL is used.
        "DPP_BASE_URL_EXPLICIT": bool(env.get("DPP_BASE_URL")),
        "DPP_KEYS_DIR": env.get("DPP_KEYS_DIR") or "keys",
        "DPP_KEY_PASSPHRASE": env.get("DPP_KEY_PASSPHRASE") or None,
        # "production" refuses to invent a key passphrase; anything else may, loudly.
        "DPP_ENV": env.get("DPP_ENV", "development"),
        # Signs the sessions of people signed in to the HTML pages (and their CSRF tokens).
        "DPP_SECRET_KEY": env.get("DPP_SECRET_KEY") or None,
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "BULK_MAX_ROWS": 10_000,
    }


def passphrase_warning(app: Flask) -> str | None:
    """Return the loud warning due when keys are encrypted with a generated passphrase."""
    path = app.config.get("DPP_GENERATED_PASSPHRASE_FILE")
    if path is None:
        return None
    return (
        f"\n*** WARNING: DPP_KEY_PASSPHRASE is not set; the signing keys are encrypted with a "
        f"passphrase kept in {path}.\n*** Anyone who can read that file can sign as your "
        f"organisations. Set DPP_KEY_PASSPHRASE (and DPP_ENV=production) for real use.\n"
    )


def key_passphrase(app: Flask) -> bytes:
    """Return the key passphrase; outside production, invent one into the instance folder."""
    given: str | None = app.config["DPP_KEY_PASSPHRASE"]
    if given:
        return given.encode()
    if app.config["DPP_ENV"] == "production":
        raise RuntimeError("DPP_KEY_PASSPHRASE must be set in production")
    path = Path(app.instance_path) / "key-passphrase"
    app.config["DPP_GENERATED_PASSPHRASE_FILE"] = str(path)
    return _kept_secret(path, 32).encode()


def secret_key(app: Flask) -> str:
    """Return the session secret: `DPP_SECRET_KEY`, else one kept in the instance folder.

    Every worker of one instance reads the same file, so a session made by one worker is
    good at the others. Production must set it (as it must set the key passphrase).
    """
    given: str | None = app.config["DPP_SECRET_KEY"]
    if given:
        return given
    if app.config["DPP_ENV"] == "production":
        raise RuntimeError("DPP_SECRET_KEY must be set in production")
    return _kept_secret(Path(app.instance_path) / "session-secret", 48)


def _kept_secret(path: Path, size: int) -> str:
    """Return the secret kept at `path`, making it (`size` random bytes) if there is none.

    Written aside (mode 0600), then linked into place: a worker never reads a half-written
    secret, and of two workers racing, the first link wins and both read it.
    """
    if not path.exists():
        fd, temp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(size))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
    return path.read_text().strip()
