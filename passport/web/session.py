"""Who is reading a page: a person signed in with a Flask-Login session, or nobody.

A signed-in person reads as their organisation does through the API (the same `Caller`, the
same read policy). The session cookie is HTTP-only, `SameSite=Lax`, and `Secure` when the
service is served over HTTPS; public pages never set a cookie (nothing is stored in the
session until someone signs in or opens a form).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from passport.core.product.access import Caller
from passport.services.orgs.users import SignedInUser, load_user
from passport.store import db
from passport.web.i18n import LANGUAGES

login_manager = LoginManager()
# A signed-in session lasts a working day, then the person signs in again.
SESSION_LIFETIME = timedelta(hours=12)
csrf = CSRFProtect()


class SessionUser(UserMixin):  # type: ignore[misc]
    """The Flask-Login face of a signed-in person."""

    def __init__(self, record: SignedInUser) -> None:
        self.record = record

    def get_id(self) -> str:
        """Return what the session keeps: the person and the number it was made under."""
        return f"{self.record.id}.{self.record.session_epoch}"


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load(kept: str) -> SessionUser | None:
    user_id, _, epoch = kept.partition(".")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    record = load_user(db.session(), int(user_id))
    if record is None or record.session_epoch != int(epoch):
        return None  # unknown, disabled, or signed out since
    return SessionUser(record)


def signed_in() -> SignedInUser | None:
    """Return the person signed in, if anyone is."""
    if not current_user.is_authenticated:
        return None
    record: SignedInUser = current_user.record
    return record


def current_caller() -> Caller | None:
    """Return the organisation the signed-in person reads for, or None."""
    user = signed_in()
    return None if user is None else user.caller


def switch_urls() -> dict[str, str]:
    """Return this page's URL in each language (the visible language switch)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    # The path as routed: a Digital Link path keeps its percent-encoded segments.
    here = request.script_root + request.path
    return {lang: f"{here}?{urlencode([*args, ('lang', lang)])}" for lang in LANGUAGES}


def page_context() -> dict[str, Any]:
    """Return what every page template needs beyond its own data."""
    publisher = current_app.extensions["passport.publisher"]
    return {
        "user": signed_in(),
        "lang": str(get_locale()),
        "switch": switch_urls(),
        "log_key": publisher.key.verifier,
    }


def init_app(app: Flask) -> None:
    """Attach sessions and CSRF protection (checked by the web forms themselves)."""
    app.config.update(
        SESSION_COOKIE_NAME="dpp_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(app.config["DPP_BASE_URL"]).startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        # The API's JSON writes authenticate by bearer token: the HTML forms check a token.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    login_manager.init_app(app)
    csrf.init_app(app)
