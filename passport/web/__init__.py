"""The HTML side: the resolver, lifecycle pages, sign-in and scan-to-record, public documents.

`init_app` wires it: blueprints, translations (flask-babel), sessions (Flask-Login), CSRF
(Flask-WTF), the security headers every response carries, and error pages: a browser gets
an HTML page with the right status, any other client the API's problem detail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import unquote

from flask import Flask, Response, current_app, render_template, request
from flask_babel import format_datetime
from werkzeug.exceptions import HTTPException

from passport.core.errors import PassportError
from passport.web import accounts, i18n, pages, record, resolver, security, session, words
from passport.web.public import bp as public

Problem = Callable[[Any], Response]


def _when(text: str) -> str:
    """Format an ISO 8601 time for people, in the page's language (its own offset kept)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return str(text)
    return str(format_datetime(moment, "medium", rebase=False))


def wants_html() -> bool:
    """Whether the client prefers an HTML page to JSON."""
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/problem+json"], default="text/html"
    )
    return best == "text/html"


def _handle(error: Exception) -> Response:
    """Answer an error of an HTML route: a page for browsers, a problem detail otherwise."""
    problem, http_problem = current_app.extensions["passport.web.problems"]
    if isinstance(error, PassportError):
        response = problem(error)
        title, detail = error.title, error.detail
    elif isinstance(error, HTTPException):
        response = http_problem(error)
        title, detail = error.name, error.description or ""
    else:  # pragma: no cover - only the two kinds are registered
        raise error
    if not wants_html():
        return cast(Response, response)
    html = render_template(
        "error.html",
        status=response.status_code,
        title=title,
        detail=detail,
        **session.page_context(),
    )
    page = Response(html, status=response.status_code, mimetype="text/html")
    for name in ("Retry-After", "WWW-Authenticate", "Allow"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page


_BLUEPRINTS = (resolver.bp, pages.bp, accounts.bp, record.bp)
for _blueprint in _BLUEPRINTS:
    _blueprint.register_error_handler(PassportError, _handle)
    _blueprint.register_error_handler(HTTPException, _handle)


def init_app(app: Flask, *, problem: Problem, http_problem: Problem) -> None:
    """Register the HTML side on `app`; errors of its pages use `problem` for non-browsers."""
    i18n.init_app(app)
    session.init_app(app)
    security.init_app(app)
    app.jinja_env.globals["words"] = words
    app.jinja_env.filters["urldecode"] = unquote
    app.jinja_env.filters["when"] = _when
    app.extensions["passport.web.problems"] = (problem, http_problem)
    app.extensions["passport.web.pages"] = {}  # anonymous lifecycle pages (web.resolver)
    for blueprint in _BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(public)
