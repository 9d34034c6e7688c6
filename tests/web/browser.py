"""Launching Debian's Chromium through Playwright, for the tests that run pages in a browser.

The tests never download a browser (`playwright install`): they drive the distribution's
`/usr/bin/chromium`. Where it or the `playwright` package is missing they skip, except with
CI set, where a missing browser fails the run instead of hiding every browser test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import IN_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    """Skip the test for `reason`; fail it instead when CI is set."""
    if IN_CI:
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    """Return the path of Debian's Chromium; skip (fail with CI set) when it is missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    found = shutil.which("chromium")
    if found is None:
        _unavailable(
            "Debian's chromium is not installed (apt-get install chromium); "
            "the browser tests need it"
        )
    assert found is not None
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """Yield a headless Chromium driven by Playwright's sync API; close it afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package cannot be imported; the browser tests need it")
        raise  # not reached: _unavailable skips or fails
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
