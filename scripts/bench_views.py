"""Benchmark: the lifecycle page and resolver redirects, as ratios to a trivial endpoint.

Usage: .venv/bin/python scripts/bench_views.py [--rounds R] [--seconds S] [--clients C]
       [--repairs N] [--profile [N]]

The service runs as `dpp serve` does (gunicorn, 2 workers x 4 threads, the checkpointer in each
worker; `bench_http.py`'s `service`) on a fresh SQLite instance in a temp folder, with
`bench_http.py`'s trivial route `GET /bench/trivial` (a small JSON object through the same app,
middleware and settings) as the baseline. A manufacturer issues the textile example as a
model-level passport (`/01/08712345678906`); a repairer records N `repair` events on it (default
19, the last with `?wait=checkpoint`), so the page shows N + 1 credentials, each with a mark
against the newest checkpoint. Each workload runs in turns with the trivial endpoint (trivial,
workload, …), C keep-alive clients for S seconds a turn; the ratio is taken turn by turn.

1. Lifecycle page: `GET /01/08712345678906`, `Accept: text/html`, `Accept-Language: nl` (the
   resolver's HTML page), as readers get it: anonymous pages are kept per passport version.
   Target: ratio >= 0.5, page under 100 KB. Also, without a target, the page as the first
   reader after a change gets it (`?n={random}`: made anew every time).
2. Resolver redirect: `GET /01/08712345678906/10/{lot}/21/{unknown serial}`, answered by a 307
   to the model passport (not followed). Target: ratio >= 0.7.

`--profile N` then renders the page N times in-process (create_app on the same database, the
test client) under cProfile and prints the top 25 entries by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_http import ROOT, Request, _dpp, _trivial, database, run_turn, service

EXAMPLES = ROOT / "schemas" / "examples"
PAGE_TARGET, REDIRECT_TARGET, PAGE_KB_TARGET = 0.5, 0.7, 100.0
PAGE_HEADERS = {"Accept": "text/html", "Accept-Language": "nl"}


def _call(
    port: int, method: str, path: str, *, body: bytes | None = None, token: str | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"} if body is not None else dict(PAGE_HEADERS)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, data


def setup_passport(port: int, env: dict[str, str], repairs: int) -> str:
    """Issue the model-level textile passport and record `repairs` repairs; return its id."""
    _dpp(
        env,
        "org",
        "create",
        "maker",
        "--name",
        "Maker",
        "--role",
        "manufacturer",
        "--gcp",
        "8712345",
        "--gcp",
        "8712346",
    )
    maker = _dpp(env, "token", "create", "maker")
    _dpp(env, "org", "create", "fixer", "--name", "Fixer", "--role", "repairer")
    fixer = _dpp(env, "token", "create", "fixer")
    product = json.loads((EXAMPLES / "textile.json").read_text("utf-8"))
    product["granularity"] = "model"
    product.pop("lot", None)
    status, data = _call(
        port, "POST", "/api/v1/passports", body=json.dumps(product).encode(), token=maker
    )
    if status != 201:
        raise SystemExit(f"issuing failed: {status} {data[:500]!r}")
    passport_id: str = json.loads(data)["id"]
    event = (EXAMPLES / "events" / "repair.json").read_bytes()
    for n in range(repairs):
        wait = "?wait=checkpoint" if n == repairs - 1 else ""
        path = f"/api/v1/passports/{passport_id}/events{wait}"
        status, data = _call(port, "POST", path, body=event, token=fixer)
        if status != 201:
            raise SystemExit(f"recording repair {n + 1} failed: {status} {data[:500]!r}")
    return passport_id


def check_page(port: int, passport_id: str, credentials: int, tries: int) -> int:
    """Fetch the page until it answers 200 (others may be editing it); return its size."""
    for attempt in range(tries):
        status, data = _call(port, "GET", f"/{passport_id}")
        if status == 200:
            break
        print(f"page answered {status} (try {attempt + 1} of {tries}); retrying in 60 s")
        if attempt + 1 == tries:
            raise SystemExit(f"the page keeps answering {status}:\n{data[:3000].decode()}")
        time.sleep(60)
    found = data.count(b'class="credential"')
    if found != credentials:
        raise SystemExit(f'the page shows {found} class="credential", expected {credentials}')
    return len(data)


def workloads(passport_id: str) -> dict[str, tuple[Request, int, float]]:
    """The measured requests: (request, expected status, target ratio) by name. The page is
    measured as readers get it (kept per passport version, `web.resolver`) and as the first
    reader after a change gets it (made anew; no target, for the record)."""

    def page(_rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "GET", f"/{passport_id}", None, PAGE_HEADERS

    def fresh_page(rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        # A query no reader sent before: the page is made, not taken from those kept.
        return "GET", f"/{passport_id}?n={rng.randrange(10**12)}", None, PAGE_HEADERS

    def redirect(rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        path = f"/{passport_id}/10/LOT{rng.randrange(100)}/21/S{rng.randrange(10**9)}"
        return "GET", path, None, {}

    return {
        "lifecycle page": (page, 200, PAGE_TARGET),
        "page, first view": (fresh_page, 200, 0.0),
        "resolver 307": (redirect, 307, REDIRECT_TARGET),
    }


def measure(
    port: int,
    loads: dict[str, tuple[Request, int, float]],
    *,
    rounds: int,
    seconds: float,
    clients: int,
) -> list[tuple[str, list[float], list[float], list[float], float]]:
    """Run every workload in turns with the trivial endpoint; return the rates and ratios."""
    results = []
    for name, (request, status, target) in loads.items():
        rates, bases, ratios = [], [], []
        for _ in range(rounds):
            base = run_turn(port, _trivial, clients=clients, seconds=seconds, status=200)
            measured = run_turn(port, request, clients=clients, seconds=seconds, status=status)
            rates.append(measured.rate)
            bases.append(base.rate)
            ratios.append(measured.rate / base.rate)
        results.append((name, rates, bases, ratios, target))
    return results


def print_table(results: list[tuple[str, list[float], list[float], list[float], float]]) -> None:
    """Print workload, rate, baseline rate, ratio median (min-max), target, met/missed."""
    print(f"  {'workload':<16} {'req/s':>8} {'trivial':>8} {'ratio (min-max)':>20}  target")
    for name, rates, bases, ratios, target in results:
        median = statistics.median(ratios)
        spread = f"{median:.3f} ({min(ratios):.2f}-{max(ratios):.2f})"
        verdict = "-" if not target else "met" if median >= target else "MISSED"
        print(
            f"  {name:<16} {statistics.median(rates):8.0f} {statistics.median(bases):8.0f} "
            f"{spread:>20}  {f'>= {target}' if target else '':>6}  {verdict}"
        )


def profile(env: dict[str, str], passport_id: str, count: int) -> None:
    """Make the page `count` times in-process under cProfile (a new query each time, so none
    is taken from the kept pages); print the top 25 entries (cumulative)."""
    from passport import create_app
    from passport.store import db

    app = create_app(
        {key: env[key] for key in ("DATABASE_URL", "DPP_KEYS_DIR", "DPP_KEY_PASSPHRASE")}
        | {"DPP_BASE_URL": env["DPP_BASE_URL"]}
    )
    client = app.test_client()
    for _ in range(3):  # warm: templates compiled, translations and keys loaded
        assert client.get(f"/{passport_id}", headers=PAGE_HEADERS).status_code == 200
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for number in range(count):
        client.get(f"/{passport_id}?n={number}", headers=PAGE_HEADERS)
    profiler.disable()
    took = time.perf_counter() - started
    print(
        f"\nprofile: {count} in-process first views, {1000 * took / count:.2f} ms each "
        "(under the profiler)"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    db.engine_of(app).dispose()


def main() -> None:
    """Set the passport up, measure both workloads, print the table (and the profile)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one turn")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each side per workload")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--repairs", type=int, default=19, help="repair events on the passport")
    parser.add_argument("--tries", type=int, default=3, help="page fetches before giving up")
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=200,
        default=0,
        metavar="N",
        help="also profile N in-process page views (default 200)",
    )
    args = parser.parse_args()
    with (
        database("sqlite") as url,
        tempfile.TemporaryDirectory() as folder,
        service(url, Path(folder)) as (port, env),
    ):
        passport_id = setup_passport(port, env, args.repairs)
        size = check_page(port, passport_id, args.repairs + 1, args.tries)
        loads = workloads(passport_id)
        run_turn(port, _trivial, clients=args.clients, seconds=1, status=200)  # warm workers
        for request, status, _target in loads.values():
            run_turn(port, request, clients=args.clients, seconds=1, status=status)
        print(
            f"\nsqlite: gunicorn 2 workers x 4 threads, {args.clients} clients, {args.rounds} "
            f"rounds of {args.seconds:g} s per side; baseline GET /bench/trivial"
        )
        print(
            f"  page /{passport_id} ({args.repairs + 1} credentials, Accept-Language: nl): "
            f"{size / 1024:.1f} KB (target < {PAGE_KB_TARGET:g} KB: "
            f"{'met' if size / 1024 < PAGE_KB_TARGET else 'MISSED'})"
        )
        results = measure(
            port, loads, rounds=args.rounds, seconds=args.seconds, clients=args.clients
        )
        print_table(results)
        if args.profile:
            profile(env, passport_id, args.profile)


if __name__ == "__main__":
    main()
