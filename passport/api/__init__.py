"""The JSON API under /api/v1: flask-smorest blueprints, one error shape, OpenAPI for free."""

from __future__ import annotations

from typing import Any

import flask
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from passport.api import problems
from passport.api.events import blp as events
from passport.api.events_bulk import blp as events_bulk
from passport.api.labels import blp as labels
from passport.api.ledger import audit_blp
from passport.api.ledger import blp as ledger
from passport.api.passports import blp as passports
from passport.api.paths import CONVERTERS, EncodedPassportPaths
from passport.api.templates import blp as templates_blp
from passport.core import limits
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


class ProblemResponses(BasePlugin):
    """Document every response that carries a problem detail as `application/problem+json`."""

    def response_helper(self, response: dict[str, Any], **_kwargs: Any) -> dict[str, Any] | None:
        """Move an error response's JSON content to the problem media type (RFC 9457)."""
        content = response.get("content", {})
        body = content.get("application/json")
        if body is None or body.get("schema") != _PROBLEM_REF:
            return None
        return {"content": {problems.MEDIA_TYPE: body}}


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class _StrictJSON:
    """JSON for request bodies: parsing holds every document to `passport.core.limits`."""

    loads = staticmethod(limits.loads)
    dumps = staticmethod(flask.json.dumps)


class StrictRequest(flask.Request):
    """A request whose `get_json` (the bulk endpoint's JSON bodies) parses within the limits.

    The flask-smorest arguments parser of the passport endpoints calls `limits.loads` itself;
    responses, and the app's own JSON, are left alone. (Flask assigns `app.json` to each
    request's `json_module`; the assignment is ignored.)
    """

    @property  # type: ignore[override]
    def json_module(self) -> type[_StrictJSON]:
        """The JSON a request body is parsed with."""
        return _StrictJSON

    @json_module.setter
    def json_module(self, _value: Any) -> None:
        pass


class PassportApi(Api):  # type: ignore[misc]
    """Api whose every error, documented or raised, is an RFC 9457 problem detail."""

    ERROR_SCHEMA = problems.ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Answer an HTTP error (404, 405, 413, a parse error …) with a problem detail."""
        return problems.from_http(error)


def init_app(app: Flask) -> PassportApi:
    """Register the API blueprints on `app`, and one problem-detail shape for every error."""
    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    app.request_class = StrictRequest
    app.url_map.converters.update(CONVERTERS)
    app.wsgi_app = EncodedPassportPaths(app.wsgi_app)  # type: ignore[method-assign]
    api = PassportApi(
        app,
        spec_kwargs={
            "marshmallow_plugin": MarshmallowPlugin(),
            "extra_plugins": [ProblemResponses()],
        },
    )
    for converter in CONVERTERS.values():
        api.register_converter(converter, lambda _converter: {"type": "string"})
    app.register_error_handler(PassportError, problems.from_domain)
    app.register_error_handler(Exception, problems.from_unexpected)
    api.register_blueprint(passports)
    api.register_blueprint(events)
    api.register_blueprint(events_bulk)
    api.register_blueprint(ledger)
    api.register_blueprint(audit_blp)
    api.register_blueprint(templates_blp)
    api.register_blueprint(labels)
    return api
