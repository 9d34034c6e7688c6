"""Run the app under gunicorn from `dpp serve`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app after the fork. The CLI's app keeps an app context
        # pushed; serving that same app object would let requests share it (and `g`).
        return self._factory()


def serve(
    factory: Callable[[], Flask], *, host: str, port: int, workers: int, threads: int
) -> None:
    """Serve the app `factory` builds on host:port: `workers` processes of `threads` threads.

    Threads let concurrent writes of one worker share a ledger batch (group commit).
    """
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
        "timeout": 120,
    }
    _Gunicorn(factory, options).run()
