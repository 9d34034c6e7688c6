"""The start page and the API documentation page (Swagger UI, served from this host)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory

from passport.services.passports.listing import Query, list_passports
from passport.store import db
from passport.web.session import page_context

bp = Blueprint("pages", __name__)

# Swagger UI as the swagger-ui-py distribution packages it: only the files the page loads.
_DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


def _swagger_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


@bp.get("/")
def start() -> Response:
    """Say what the service is; link to the passports, the checkpoint and the API docs."""
    ctx = current_app.extensions["passport.services"]
    passports, _ = list_passports(db.session(), ctx, Query(limit=20))
    html = render_template("start.html", passports=passports, **page_context())
    return Response(html, mimetype="text/html")


@bp.get("/api/v1/docs")
def api_docs() -> Response:
    """Show the OpenAPI document in Swagger UI."""
    html = render_template("docs.html", spec_url="/api/v1/openapi.json")
    return Response(html, mimetype="text/html")


@bp.get("/api/v1/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    """Serve one of Swagger UI's files."""
    if name not in _DOCS_ASSETS:
        abort(404)
    response = send_from_directory(_swagger_dir(), name, max_age=86400)
    return response
