"""`dpp init` and `dpp serve`: bring an instance to a servable state, then serve it."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import locate_app, with_appcontext

from passport.cli.common import now, services, session
from passport.config import passphrase_warning
from passport.core.errors import PassportError
from passport.instance import check_startup, initialise
from passport.services.demo import load_demo
from passport.store import db


def _warn_passphrase(app: Flask) -> None:
    warning = passphrase_warning(app)
    if warning:
        click.secho(warning, fg="red", err=True)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema, fix the base URL, create the log key.

    A new database stores DPP_BASE_URL (default http://127.0.0.1:5000) as the instance's base
    URL for good: every DID, Digital Link URI and checkpoint names it.
    """
    _warn_passphrase(current_app)
    initialise(current_app)
    click.echo(f"database ready: {db.engine().url.render_as_string(hide_password=True)}", err=True)
    click.echo(f"base URL: {current_app.config['DPP_BASE_URL']}", err=True)


def _build_app() -> Flask:
    """Build the app the way `flask --app passport` would: from the package's factory."""
    app: Flask = locate_app("passport", None)
    return app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Processes")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per process")
@click.option("--demo", is_flag=True, help="Load demo organisations and passports first")
def serve_command(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    """Run the service with gunicorn (migrating the database first).

    The base URL is the one stored at `dpp init`; a DPP_BASE_URL that disagrees is refused.
    On a new database it is DPP_BASE_URL, else http://HOST:PORT, and is stored.
    """
    # A fresh app (`flask --app` may have built one before); it only migrates and loads the
    # demo data: each worker builds its own after the fork, and reads the same stored base URL.
    app = _build_app()
    if not os.environ.get("DPP_BASE_URL") and not app.config["DPP_BASE_URL_STORED"]:
        # A new instance: its identifiers and DIDs name where the service really listens.
        os.environ["DPP_BASE_URL"] = f"http://{host}:{port}"
        db.engine_of(app).dispose()
        app = _build_app()
    click.echo(f"base URL: {app.config['DPP_BASE_URL']}", err=True)
    with app.app_context():
        _warn_passphrase(app)
        initialise(app)
        try:
            check_startup(app)
        except PassportError as exc:
            raise click.ClickException(f"refusing to serve: {exc.detail}") from None
        if demo:
            with session() as sess:
                click.echo(load_demo(sess, services(), at=now()), err=True)
        # Workers are forked: they must not inherit the master's pooled connections.
        db.engine().dispose()
    # gunicorn runs only on Unix and is needed only here: importing `passport` (for `dpp verify`,
    # or the core as a library) must not need it.
    from passport.cli.gunicorn import serve

    serve(_build_app, host=host, port=port, workers=workers, threads=threads)
