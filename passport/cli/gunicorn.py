"""Run the app under gunicorn from `dpp serve`; also a gunicorn config module of its own.

Each worker builds its app after the fork and runs the checkpointer thread, which covers every
entry with a signed checkpoint within about two seconds, whichever process appended it. To run
gunicorn yourself with the same behaviour: `gunicorn -c python:passport.cli.gunicorn
'passport:create_app()'` (this module's `post_worker_init` starts the checkpointer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from passport.services.ledger.publisher import Publisher


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: start this worker's checkpointer once its app is loaded."""
    publisher: Publisher = worker.wsgi.extensions["passport.publisher"]
    publisher.start()


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
        "post_worker_init": post_worker_init,
    }
    _Gunicorn(factory, options).run()
