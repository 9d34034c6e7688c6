"""The JSON API under /api/v1: flask-smorest blueprints, one error shape, OpenAPI for free."""

from __future__ import annotations

import http
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from passport.api import problems
from passport.core.errors import PassportError

API_SETTINGS: dict[str, Any] = {
    "API_TITLE": "Product passport ledger",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Signed digital product passports (W3C VC 2.0, eddsa-jcs-2022) "
            "for textiles and mattresses. Errors are RFC 9457 problem details."
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "API token"}
            }
        },
    },
}


class PassportApi(Api):  # type: ignore[misc]
    """Api whose every error, documented or raised, is an RFC 9457 problem detail."""

    ERROR_SCHEMA = problems.ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(PassportError, problems.from_domain)
        self._app.register_error_handler(HTTPException, problems.from_http)
        self._app.register_error_handler(Exception, problems.from_unexpected)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem detail", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def init_app(app: Flask) -> PassportApi:
    """Register the API blueprints on `app`."""
    from passport.api.ledger import audit_blp
    from passport.api.ledger import blp as ledger
    from passport.api.passports import blp as passports

    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api = PassportApi(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin()})
    api.register_blueprint(passports)
    api.register_blueprint(ledger)
    api.register_blueprint(audit_blp)
    return api
