"""Fixtures of the HTML side's browser tests: the app served over real HTTP, and Chromium.

`live_app` is an app on SQLite whose DPP_BASE_URL is the address `live_server` serves it at,
so that its DIDs, checkpoint origin and log key name all resolve in the browser. Both are
module-scoped (one app and one server per test module, as is the browser): a test that
changes what the browser sees does so with `page.route`, not by writing to the app.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from werkzeug.serving import make_server

from passport import create_app
from passport.instance import initialise
from tests.helpers import PASSPHRASE, close_app, free_port
from tests.web.browser import chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Yield an initialised app on SQLite whose DPP_BASE_URL is `http://127.0.0.1:{port}`.

    The port is picked here, before the app exists, because the base URL is part of the
    instance's identity; `live_server` serves the app on exactly that port.
    """
    folder = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'live.db'}",
            "DPP_KEYS_DIR": str(folder / "keys"),
            "DPP_KEY_PASSPHRASE": PASSPHRASE,
            "DPP_BASE_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    with app.app_context():
        initialise(app)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve `live_app` over HTTP in a daemon thread; yield its base URL (no trailing slash)."""
    url: str = live_app.config["DPP_BASE_URL"]
    port = int(url.rsplit(":", 1)[1])
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Yield Debian's Chromium under Playwright for the module (skips where it is missing)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """Yield a fresh page in a fresh browser context (own cache and cookies), closed after."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
