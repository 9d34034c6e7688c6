"""Benchmark: single requests over HTTP under gunicorn, as ratios to a trivial JSON endpoint.

Usage: .venv/bin/python scripts/bench_http.py [--seconds S] [--rounds R] [--clients C]
       [--databases sqlite,postgresql]

For each database it starts the service as `dpp serve` does (gunicorn, 2 workers of 4 threads,
the checkpointer in each worker) with one extra route, `GET /bench/trivial`, answering a small
JSON object through the same app, middleware and settings. Each workload then runs in turns
with the trivial endpoint (trivial, workload, trivial, workload, …), C keep-alive clients for
S seconds a turn, and the ratio of their request rates is taken turn by turn, so drift of a
shared machine falls on both. Printed per workload: requests/s, the ratio's median over the
rounds (min–max), and the workload's p50 and p99 latency.

Targets (issue 12): single textile passport POST >= 0.25, anonymous GET of a passport >= 0.6,
inclusion proof >= 0.6, checkpoint >= 0.8. PostgreSQL runs at DPP_TEST_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test) in a database the script creates and drops.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, jsonify

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("DPP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS = {"POST passport": 0.25, "GET passport": 0.6, "inclusion proof": 0.6, "checkpoint": 0.8}


def bench_app() -> Flask:
    """The service's app plus `GET /bench/trivial` (gunicorn loads this as the bench's app)."""
    from passport import create_app

    app = create_app()

    @app.get("/bench/trivial")
    def trivial() -> Any:
        return jsonify({"ok": True})

    return app


@dataclass
class Turn:
    """One turn of one workload: how many requests, in how long, and their latencies."""

    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds


Request = Callable[[random.Random], tuple[str, str, bytes | None, dict[str, str]]]


def run_turn(
    port: int, request: Request, *, clients: int, seconds: float, status: int | None = None
) -> Turn:
    """Run `clients` keep-alive connections for `seconds`; every answer must be `status`
    (any 2xx when None)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def client(slot: int) -> None:
        rng = random.Random(slot)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            method, path, body, headers = request(rng)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            latencies[slot].append(time.perf_counter() - started)
            if answer.status != status if status is not None else not 200 <= answer.status < 300:
                failures.append(f"{method} {path}: {answer.status}")
                return
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"benchmark request failed: {failures[0]}")
    flat = [x for slot in latencies for x in slot]
    return Turn(len(flat), time.monotonic() - began, flat)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def database(kind: str) -> Iterator[str]:
    """Yield the URL of an empty database of `kind` (a PostgreSQL one is dropped after)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _dpp(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "dpp"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"dpp {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def _maker_token(env: dict[str, str], gtin: str) -> str:
    """Create a manufacturer that owns the example's company prefix; return its token."""
    create = ["org", "create", "bench", "--name", "Bench", "--role", "manufacturer"]
    with_prefix = subprocess.run(
        [str(BIN / "dpp"), *create, "--gcp", gtin[1:8]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if with_prefix.returncode != 0:  # a version whose organisations hold no prefixes yet
        _dpp(env, *create)
    return _dpp(env, "token", "create", "bench")


@contextmanager
def service(url: str, folder: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Start gunicorn (2 workers x 4 threads) on `url`; yield its port and environment."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DPP_KEYS_DIR": str(folder / "keys"),
        "DPP_KEY_PASSPHRASE": "bench",
        "DPP_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    _dpp(env, "init")
    log = (folder / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:passport.cli.gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "bench_http:bench_app()",
        ],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/bench/trivial")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"gunicorn did not start; see {folder / 'gunicorn.log'}")
            time.sleep(0.2)
        yield port, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _post(port: int, token: str, body: bytes) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", "/api/v1/passports", body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 201:
        raise SystemExit(f"issuing failed: {answer.status} {data[:300]!r}")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


def workloads(port: int, token: str) -> dict[str, Request]:
    """The four measured requests, with 50 passports issued first to read and prove."""
    body = (ROOT / "schemas" / "examples" / "textile.json").read_bytes()
    issued = [_post(port, token, body) for _ in range(50)]
    ids = [item["id"] for item in issued]
    time.sleep(2.5)  # the checkpointer covers the 50 (and all the keys) before proofs are asked
    size = max(item["ledger_index"] for item in issued) + 1
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(_rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "POST", "/api/v1/passports", body, auth

    def get(rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "GET", f"/api/v1/passports/{rng.choice(ids)}", None, {}

    def proof(rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        path = f"/ledger/proof/inclusion?index={rng.randrange(size)}&tree_size={size}"
        return "GET", path, None, {}

    def checkpoint(_rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "GET", "/ledger/checkpoint", None, {}

    return {
        "POST passport": post,
        "GET passport": get,
        "inclusion proof": proof,
        "checkpoint": checkpoint,
    }


def _trivial(_rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
    return "GET", "/bench/trivial", None, {}


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(kind: str, *, rounds: int, seconds: float, clients: int) -> None:
    """Print every workload's ratio to the trivial endpoint on database `kind`."""
    with (
        database(kind) as url,
        tempfile.TemporaryDirectory() as folder,
        service(url, Path(folder)) as (port, env),
    ):
        gtin = json.loads((ROOT / "schemas" / "examples" / "textile.json").read_text())["gtin"]
        token = _maker_token(env, gtin)
        loads = workloads(port, token)
        run_turn(port, _trivial, clients=clients, seconds=1)  # warm both workers
        print(
            f"\n{kind}: gunicorn 2 workers x 4 threads, {clients} clients, "
            f"{rounds} rounds of {seconds:g} s per side"
        )
        print(
            f"  {'workload':<16} {'req/s':>8} {'trivial':>8} {'ratio (min-max)':>20} "
            f"{'p50 ms':>8} {'p99 ms':>8}  target"
        )
        for name, request in loads.items():
            ratios, rates, trivial_rates, latencies = [], [], [], []
            for _ in range(rounds):
                base = run_turn(port, _trivial, clients=clients, seconds=seconds)
                measured = run_turn(port, request, clients=clients, seconds=seconds)
                ratios.append(measured.rate / base.rate)
                rates.append(measured.rate)
                trivial_rates.append(base.rate)
                latencies += measured.latencies
            spread = f"{statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f})"
            print(
                f"  {name:<16} {statistics.median(rates):8.0f} "
                f"{statistics.median(trivial_rates):8.0f} {spread:>20} "
                f"{_ms(latencies, 0.5):8.2f} {_ms(latencies, 0.99):8.2f}  >= {TARGETS[name]}"
            )


def main() -> None:
    """Run the benchmark on each database asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one turn")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each side per workload")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.databases.split(","):
        bench(kind, rounds=args.rounds, seconds=args.seconds, clients=args.clients)


if __name__ == "__main__":
    main()
