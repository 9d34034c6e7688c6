"""SIGKILL the whole HTTP service (gunicorn master and workers) during bulk loads, 20 times.

Each trial starts `dpp serve` as an operator restarts it (migrations, the start-up check that
refuses a forked or lagging log), has a client post `:bulk` loads of 1–20 passports, and kills
the service's process group with SIGKILL once the client has had a random number of loads
answered (an event, never a time). After each kill `dpp audit` must
pass and every passport whose load was answered 201 must be stored with the ledger index the
answer named. The database and the keys outlive the trials, as they do on a real host.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from passport.store import db
from tests.helpers import ROOT, example, free_port, trials, worker_env

# With CI: 20 kills on SQLite, 6 on PostgreSQL; without, a few of each.
TRIALS = {"sqlite": trials(20, 4), "postgresql": trials(6, 2)}
SEED = 6962


class Service:
    """`dpp serve` in its own process group, so one SIGKILL takes master and workers down."""

    def __init__(self, app: Flask, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **worker_env(app)}  # DPP_BASE_URL: the URL the keys were made for
        self._log = log.open("w+")
        dpp = Path(sys.executable).with_name("dpp")
        command = [str(dpp), "serve", "--port", str(self.port), "--workers", "2"]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/ledger/checkpoint", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers (404 before the first checkpoint)
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the service did not start:\n{self.output()}")
                time.sleep(0.1)

    def kill(self) -> int:
        os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._log.close()


class Loader(threading.Thread):
    """Post bulk loads until the service goes away; keep what was acknowledged."""

    def __init__(self, url: str, token: str, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.rng = url, token, rng
        self.acked: dict[str, int] = {}
        self.unexpected: list[str] = []
        self.answered = 0  # loads answered 201
        self.ended = False
        self._changed = threading.Condition()

    def wait_answered(self, count: int, timeout: float = 60) -> None:
        """Block until `count` loads were answered; fail if the loader stopped first or
        `timeout` seconds passed (a bound for a hung service, not a schedule)."""
        with self._changed:
            self._changed.wait_for(lambda: self.answered >= count or self.ended, timeout)
            if self.answered < count:
                pytest.fail(f"{self.answered} of {count} loads answered: {self.unexpected}")

    def run(self) -> None:
        try:
            self._load()
        finally:
            with self._changed:
                self.ended = True
                self._changed.notify_all()

    def _load(self) -> None:
        while True:
            rows = [example("textile") for _ in range(self.rng.randint(1, 20))]
            request = urllib.request.Request(
                f"{self.url}/api/v1/passports:bulk", data=json.dumps(rows).encode(), method="POST"
            )
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body: dict[str, Any] = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                self.unexpected.append(f"{exc.code}: {exc.read()[:300]!r}")
                return
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                return  # killed mid-request or mid-answer: this load was never acknowledged
            if len(body["passports"]) != len(rows):
                self.unexpected.append(f"{len(rows)} rows sent, {body['count']} answered")
            with self._changed:
                for passport in body["passports"]:
                    self.acked[passport["id"]] = passport["ledger_index"]
                self.answered += 1
                self._changed.notify_all()


def check_after_kill(app: Flask, runner: FlaskCliRunner, acked: dict[str, int], trial: int) -> int:
    """`dpp audit` passes and every acknowledged passport has its entry; return the log size."""
    audited = runner.invoke(args=["audit", "--workers", "2"])
    assert audited.exit_code == 0, f"after trial {trial}:\n{audited.output}"
    with app.app_context(), db.engine().connect() as conn:
        stored = dict(
            conn.execute(text("SELECT passport_id, ledger_index FROM history_entry")).all()
        )
        size = conn.execute(text("SELECT size FROM ledger_head")).scalar_one()
    lost = {path: index for path, index in acked.items() if stored.get(path) != index}
    assert not lost, f"after trial {trial}: acknowledged but not stored as answered: {lost}"
    return int(size)


@pytest.mark.slow
def test_sigkill_the_service_during_bulk_loads_loses_nothing_acknowledged(
    app: Flask, runner: FlaskCliRunner, maker: str, tmp_path: Path
) -> None:
    """20 trials (6 on PostgreSQL; 4 and 2 without CI)."""
    token = maker
    count = TRIALS["sqlite" if app.config["DATABASE_URL"].startswith("sqlite") else "postgresql"]
    rng = random.Random(SEED)
    acked: dict[str, int] = {}
    sizes = []
    for trial in range(count):
        service = Service(app, tmp_path / f"serve-{trial}.log")
        try:
            service.wait_ready()
            loader = Loader(service.url, token, random.Random(rng.randrange(1 << 30)))
            loader.start()
            loader.wait_answered(rng.randint(1, 3))  # the event the kill waits on
            # Spread the kill over the next load (mid-request, mid-commit, mid-answer); what
            # the trial checks never depends on where it lands.
            time.sleep(rng.uniform(0, 0.1))
            code = service.kill()
            loader.join(timeout=30)
            assert code == -signal.SIGKILL, f"trial {trial}: {code}\n{service.output()}"
            assert not loader.unexpected, f"trial {trial}: {loader.unexpected}"
        finally:
            service.close()
        assert not loader.acked.keys() & acked.keys(), f"trial {trial}: an id answered twice"
        assert loader.acked, f"trial {trial}: no load was answered before the kill"
        acked.update(loader.acked)
        sizes.append(check_after_kill(app, runner, acked, trial))
    assert len(set(acked.values())) == len(acked), "a ledger index was acknowledged twice"
    assert sizes == sorted(sizes)  # the log only grows
    final = Service(app, tmp_path / "serve-final.log")  # and the service still starts
    try:
        final.wait_ready()
    finally:
        final.close()
