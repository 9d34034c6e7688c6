"""Sign in and out: a short form, throttled, with CSRF protection.

Passwords are checked by `passport.services.orgs.users.sign_in`, which hashes with argon2id
and throttles by address and by account across every worker (the counters live in the
database). Too many failures answer 429 with `Retry-After`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from passport.core.errors import TooManyAttempts, Unauthenticated
from passport.services.orgs.sessions import end_sessions
from passport.services.orgs.users import sign_in
from passport.store import db
from passport.web.session import SessionUser, csrf, page_context, signed_in

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this host, else the start page."""
    if not target:
        return url_for("pages.start")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.start")
    return target


def _form(error: str | None = None, status: int = 200, email: str = "") -> Response:
    html = render_template(
        "login.html",
        error=error,
        email=email,
        next=request.values.get("next", ""),
        **page_context(),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/login")
def login() -> Response:
    """Show the sign-in form."""
    return _form()


@bp.post("/login")
def login_post() -> Response:
    """Check the form's CSRF token and the password; sign in or say why not."""
    csrf.protect()
    email = request.form.get("email", "").strip()[:254]
    password = request.form.get("password", "")[:1024]
    source = request.remote_addr or "unknown"
    sess = db.session()
    try:
        user = sign_in(sess, email=email, password=password, source=source, now=datetime.now(UTC))
    except TooManyAttempts as exc:
        response = _form(_("Too many attempts. Try again later."), 429, email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthenticated:
        return _form(_("That email address and password do not match."), 401, email)
    session.clear()  # nothing from before signing in carries over
    session.permanent = True  # ends after SESSION_LIFETIME, whatever the browser keeps
    login_user(SessionUser(user))
    return redirect(_safe_next(request.form.get("next")), 303)  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    """Sign out (a POST with the CSRF token, so no other site can sign anyone out): every
    session of the person ends, on every device."""
    csrf.protect()
    user = signed_in()
    if user is not None:
        end_sessions(db.session(), user.id)  # a copy of the cookie is worth nothing now
    logout_user()
    session.clear()
    return redirect(url_for("pages.start"), 303)  # type: ignore[return-value]
