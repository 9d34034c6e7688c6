"""End to end: `dpp serve --demo` under gunicorn, a real HTTP client, an independent verifier."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EXAMPLES, ROOT, free_port
from tests.independent_verifier import verify

Served = tuple[str, dict[str, str], dict[str, str]]  # base URL, demo tokens, environment


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Start the demo service; yield its base URL, the demo tokens it printed, its environment."""
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
        "DPP_KEYS_DIR": str(tmp / "keys"),
        "DPP_KEY_PASSPHRASE": "e2e",
        "DPP_BASE_URL": base,
    }
    dpp = Path(sys.executable).with_name("dpp")
    log = (tmp / "serve.log").open("w+")
    proc = subprocess.Popen(
        [str(dpp), "serve", "--demo", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"server did not start:\n{log.read()}")
                time.sleep(0.2)
        log.seek(0)
        output = log.read()
        tokens = dict(re.findall(r"^\s+([a-z-]+)\s+\S+\s+(dpp_\S+)$", output, re.M))
        assert f"Demo service at {base}, API contract at {base}/api/v1/openapi.json" in output
        links = re.findall(rf"{re.escape(base)}/(?:api/v1/|01/|login)\S*", output)
        # The contract, the docs, seven demo passports' pages (five issued, a remanufactured
        # successor, one claiming recycled steel), a repaired blanket's events, a lineage,
        # three lots and the sign-in page.
        assert len(links) == 1 + 1 + 7 + 1 + 1 + 3 + 1
        for link in links:  # every link the banner prints answers
            with urllib.request.urlopen(link, timeout=30) as answer:
                assert answer.status == 200, link
        yield base, tokens, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _checkpoint_size(base: str) -> int | None:
    """The size the served checkpoint covers, or None while there is none."""
    try:
        with urllib.request.urlopen(f"{base}/ledger/checkpoint", timeout=5) as answer:
            return int(answer.read().decode().split("\n")[1])
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        return None


def _covered_within(base: str, size: int, seconds: float) -> float:
    """Wait until a served checkpoint covers `size` entries; return how long it took."""
    started = time.monotonic()
    while (_checkpoint_size(base) or 0) < size:
        assert time.monotonic() - started < seconds, f"no checkpoint of size {size}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_fresh_demo_serves_a_checkpoint_of_its_whole_log(server: Served) -> None:
    base, _tokens, _env = server
    # Logged before any request was served: six organisations' keys, five passports, two
    # repairs, a remanufacture (successor and event), collect, sort and recycle with its three
    # lots, and a passport claiming recycled steel.
    _covered_within(base, 22, seconds=10)
    assert _checkpoint_size(base) == 22


def test_entries_appended_by_the_cli_are_checkpointed_while_serving(server: Served) -> None:
    base, _tokens, env = server
    before = _checkpoint_size(base) or 0
    dpp = Path(sys.executable).with_name("dpp")
    made = subprocess.run(
        [str(dpp), "org", "create", "cli-made", "--name", "From the CLI", "--role", "repairer"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    # The organisation's key registration is one entry, appended by another process; the
    # serving workers' checkpointers cover it within about two seconds (bounded wider here for
    # a loaded machine; the figure is the point, not the bound).
    took = _covered_within(base, before + 1, seconds=10)
    assert took < 5, took


def _request(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("category", "org"), [("textile", "twentse-weverij"), ("mattress", "deventer-matras")]
)
def test_demo_issue_and_verify_over_http(server: Served, category: str, org: str) -> None:
    base, tokens, _env = server
    assert {
        "twentse-weverij",
        "deventer-matras",
        "repair-zwolle",
        "vezel-recycling",
        "ilt-toezicht",
    } <= set(tokens)
    body = json.loads((EXAMPLES / f"{category}.json").read_text("utf-8"))
    status, issued = _request(f"{base}/api/v1/passports", body, tokens[org])
    assert status == 201, issued
    fetched: list[str] = []

    def fetch(host: str, path: str) -> dict[str, Any]:
        assert host == base.removeprefix("http://")
        fetched.append(path)
        return _request(f"{base}{path}")[1]  # type: ignore[no-any-return]

    verify(issued["credential"], fetch)
    for credential in issued["restricted"].values():
        verify(credential, fetch)
    assert set(fetched) == {f"/orgs/{org}/did.json"}
    status, public = _request(f"{base}/api/v1/passports/{issued['id']}")
    assert status == 200
    assert public["restricted"] == {}
    verify(public["credential"], fetch)
