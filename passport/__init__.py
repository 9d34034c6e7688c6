"""The product passport ledger: signed digital product passports with a tamper-evident log."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from passport import api, cli, config, web
from passport.core.product.rules import ProductRules
from passport.instance import normalise_base_url, resolve_base_url
from passport.services.context import ServiceContext, load_event_rules, load_schemas
from passport.services.ledger.publisher import Publisher
from passport.services.ledger.sequencer import Sequencer
from passport.services.ledger.status_indices import StatusIndices
from passport.store import db
from passport.store.keystore import KeyStore


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `test_config` on top."""

    app = Flask(
        __name__,
        instance_relative_config=True,
        static_folder="web/static",
        template_folder="web/templates",
    )
    instance = Path(app.instance_path)
    app.config.update(config.from_environment(instance))
    app.config.update(test_config or {})
    if test_config and "DPP_BASE_URL" in test_config:
        app.config["DPP_BASE_URL_EXPLICIT"] = True
    app.config["DPP_BASE_URL"] = normalise_base_url(app.config["DPP_BASE_URL"])
    instance.mkdir(parents=True, exist_ok=True)
    app.secret_key = config.secret_key(app)
    db.init_app(app)
    # The instance's identity: the base URL stored at `dpp init` (a disagreeing one is refused).
    resolve_base_url(app)
    schemas = load_schemas()
    passphrase = config.key_passphrase(app)
    app.config["DPP_KEY_PASSPHRASE_BYTES"] = passphrase
    app.extensions["passport.services"] = ServiceContext(
        keys=KeyStore(Path(app.config["DPP_KEYS_DIR"]), passphrase),
        rules=ProductRules.from_schemas(schemas),
        events=load_event_rules(),
        schemas=schemas,
        base_url=app.config["DPP_BASE_URL"],
        sequencer=Sequencer(db.engine_of(app)),
        status=StatusIndices(db.engine_of(app)),
        bulk_max_rows=app.config["BULK_MAX_ROWS"],
    )
    app.extensions["passport.publisher"] = Publisher(
        engine=db.engine_of(app),
        keys_dir=Path(app.config["DPP_KEYS_DIR"]),
        passphrase=passphrase,
        base_url=app.config["DPP_BASE_URL"],
    )
    api.init_app(app)
    web.init_app(app, problem=api.problems.from_domain, http_problem=api.problems.from_http)
    cli.init_app(app)
    return app
