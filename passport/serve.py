"""Run the app under gunicorn from `dpp serve`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def serve(app: Flask, *, host: str, port: int, workers: int) -> None:
    """Serve `app` on host:port with `workers` pre-forked gunicorn workers."""
    _Gunicorn(
        app,
        {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 120},
    ).run()
