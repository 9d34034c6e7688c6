"""The app's engine and per-request sessions: the Flask glue around `passport.store.sql`."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from passport.store.sql import make_engine

_ENGINE_KEY = "passport.engine"


def init_app(app: Flask) -> None:
    """Create the engine for the app and close request sessions on teardown."""
    app.extensions[_ENGINE_KEY] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def engine_of(app: Flask) -> Engine:
    """Return `app`'s engine."""
    eng: Engine = app.extensions[_ENGINE_KEY]
    return eng


def engine() -> Engine:
    """Return the current app's engine."""
    eng: Engine = current_app.extensions[_ENGINE_KEY]
    return eng


def session() -> Session:
    """Return the request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    sess: Session = g.db_session
    return sess


def _close_session(_exc: BaseException | None) -> None:
    sess = g.pop("db_session", None)
    if sess is not None:
        sess.close()
