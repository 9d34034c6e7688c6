"""The product passport ledger: signed digital product passports with a tamper-evident log."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from passport import config, db


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `test_config` on top."""
    from passport import api, cli
    from passport.core.product import ProductRules
    from passport.services.context import ServiceContext, load_schemas
    from passport.services.keystore import KeyStore
    from passport.services.publisher import Publisher
    from passport.services.sequencer import Sequencer
    from passport.web.public import bp as public

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.update(config.from_environment(instance))
    app.config.update(test_config or {})
    instance.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    schemas = load_schemas()
    passphrase = _passphrase(app)
    app.config["DPP_KEY_PASSPHRASE_BYTES"] = passphrase
    app.extensions["passport.services"] = ServiceContext(
        keys=KeyStore(Path(app.config["DPP_KEYS_DIR"]), passphrase),
        rules=ProductRules.from_schemas(schemas),
        schemas=schemas,
        base_url=app.config["DPP_BASE_URL"],
        sequencer=Sequencer(db.engine_of(app)),
        bulk_max_rows=app.config["BULK_MAX_ROWS"],
    )
    app.extensions["passport.publisher"] = Publisher(
        engine=db.engine_of(app),
        keys_dir=Path(app.config["DPP_KEYS_DIR"]),
        passphrase=passphrase,
        base_url=app.config["DPP_BASE_URL"],
    )
    api.init_app(app)
    app.register_blueprint(public)
    cli.init_app(app)
    return app


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


def _passphrase(app: Flask) -> bytes:
    """Return the key passphrase; outside production, invent one into the instance folder."""
    given: str | None = app.config["DPP_KEY_PASSPHRASE"]
    if given:
        return given.encode()
    if app.config["DPP_ENV"] == "production":
        raise RuntimeError("DPP_KEY_PASSPHRASE must be set in production")
    path = Path(app.instance_path) / "key-passphrase"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    app.config["DPP_GENERATED_PASSPHRASE_FILE"] = str(path)
    return path.read_text().strip().encode()
