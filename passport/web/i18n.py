"""Languages: Dutch for browsers that prefer it, English otherwise, `?lang=` to choose.

Translations are gettext catalogues (`web/translations/{locale}/LC_MESSAGES/messages.po`),
compiled to `.mo` files when the package is built (`setup.py`) and read by flask-babel. The
choice is made per request and never stored: public pages set no cookie.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

LANGUAGES = ("nl", "en")
DEFAULT = "en"


def select_locale() -> str:
    """Return the page language: `?lang=`, else the browser's preference, else English."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def init_app(app: Flask) -> None:
    """Attach flask-babel to `app` with the package's catalogues."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "web/translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    Babel(app, locale_selector=select_locale)
