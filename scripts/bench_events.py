"""Benchmark: recording lifecycle events, as ratios measured side by side in one run.

Usage: .venv/bin/python scripts/bench_events.py [--events N] [--rounds R] [--seconds S]
       [--clients C] [--databases sqlite,postgresql] [--skip-http]

1. Single-event appends over HTTP: the service under gunicorn (2 workers x 4 threads, as
   `dpp serve`, on each database asked for) records `repair` events signed by a repairer, in
   turns with a trivial JSON endpoint of the same app (`bench_http.py`'s), C keep-alive clients,
   each on passports of its own (events of one passport are appended in order, so two clients
   on one passport would race for its next sequence number). Target: ratio >= 0.4.
2. Bulk ingest through the service layer (`record_events`, what POST /events:bulk and
   `dpp events import` run) on SQLite: N `collect` events for N passports per round, against
   the bare Ed25519 sign rate measured before each round. Target: ratio >= 0.33 (recording a
   signed event costs at most three bare signatures).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).parent))
from bench_http import ROOT, _dpp, _maker_token, _post, _trivial, database, run_turn, service
from bench_issue import bare_sign_rate

from passport import create_app
from passport.core.product.access import Caller
from passport.instance import initialise
from passport.services.context import ServiceContext
from passport.services.events.bulk import record_events
from passport.services.orgs.organisations import create_organisation
from passport.services.passports.issue import issue_passports
from passport.store import db

EXAMPLES = ROOT / "schemas" / "examples"
HTTP_TARGET, BULK_TARGET = 0.4, 0.33


def _repair_requests(port: int, maker: str, repairer: str, clients: int) -> object:
    """A request function giving each client (by its rng) passports of its own."""
    body = (EXAMPLES / "textile.json").read_bytes()
    ids = [_post(port, maker, body)["id"] for _ in range(clients * 4)]
    event = (EXAMPLES / "events" / "repair.json").read_bytes()
    headers = {"Authorization": f"Bearer {repairer}", "Content-Type": "application/json"}
    # Each turn starts `clients` new threads: the n-th thread of a turn takes the n-th share.
    mine = threading.local()
    started = itertools.count()

    def request(_rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        if not hasattr(mine, "passports"):
            mine.passports = itertools.cycle(ids[next(started) % clients :: clients])
        return "POST", f"/api/v1/passports/{next(mine.passports)}/events", event, headers

    return request


def bench_http(kind: str, *, rounds: int, seconds: float, clients: int) -> None:
    """Print single-event appends/s against the trivial endpoint on database `kind`."""
    with (
        database(kind) as url,
        tempfile.TemporaryDirectory() as folder,
        service(url, Path(folder)) as (port, env),
    ):
        gtin = json.loads((EXAMPLES / "textile.json").read_text())["gtin"]
        maker = _maker_token(env, gtin)
        _dpp(env, "org", "create", "fixer", "--name", "Fixer", "--role", "repairer")
        repairer = _dpp(env, "token", "create", "fixer")
        request = _repair_requests(port, maker, repairer, clients)
        run_turn(port, _trivial, clients=clients, seconds=1)  # warm both workers
        ratios, rates, trivial = [], [], []
        for _ in range(rounds):
            base = run_turn(port, _trivial, clients=clients, seconds=seconds)
            measured = run_turn(port, request, clients=clients, seconds=seconds)  # type: ignore[arg-type]
            ratios.append(measured.rate / base.rate)
            rates.append(measured.rate)
            trivial.append(base.rate)
        print(
            f"{kind}: single event POST {statistics.median(rates):7.0f} /s, trivial "
            f"{statistics.median(trivial):7.0f} /s, ratio {statistics.median(ratios):.3f} "
            f"({min(ratios):.2f}-{max(ratios):.2f}), target >= {HTTP_TARGET}"
        )


def bench_bulk(count: int, rounds: int) -> None:
    """Print bulk events/s through `record_events` against the bare sign rate, round by round."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "DPP_KEYS_DIR": str(Path(tmp) / "keys"),
                "DPP_KEY_PASSPHRASE": "bench",
            }
        )
        with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
            initialise(app)
            ctx: ServiceContext = app.extensions["passport.services"]
            at = datetime.now(UTC).replace(microsecond=0)
            body = json.loads((EXAMPLES / "textile.json").read_text("utf-8"))
            maker = create_organisation(
                sess, ctx, slug="maker", name="Maker", roles=["manufacturer"],
                gcps=[body["gtin"][1:8]], at=at,
            )  # fmt: skip
            collector = create_organisation(
                sess, ctx, slug="collector", name="Collector", roles=["collector"], at=at
            )
            issued = issue_passports(
                sess, ctx, Caller(maker.id, maker.slug, maker.roles), [body] * count, at=at
            )
            event = json.loads((EXAMPLES / "events" / "collect.json").read_text("utf-8"))
            items = [{"passport": view.id, **event} for view in issued]
            actor = Caller(collector.id, collector.slug, collector.roles)
            record_events(sess, ctx, actor, items[:10], at=at)  # warm up caches
            ratios, rates, signs = [], [], []
            for _ in range(rounds):
                sign = bare_sign_rate(count * 2)
                started = time.perf_counter()
                outcomes = record_events(sess, ctx, actor, items, at=at)
                rate = count / (time.perf_counter() - started)
                if any(o.error is not None for o in outcomes):
                    raise SystemExit(f"an event was refused: {outcomes[0].error}")
                ratios.append(rate / sign)
                rates.append(rate)
                signs.append(sign)
            db.engine().dispose()
    print(
        f"bulk events ({count} per request, SQLite): {statistics.median(rates):7.0f} /s, bare "
        f"Ed25519 sign {statistics.median(signs):7.0f} /s, ratio "
        f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}), "
        f"target >= {BULK_TARGET}"
    )


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    bench_bulk(args.events, args.rounds)
    if not args.skip_http:
        for kind in args.databases.split(","):
            bench_http(kind, rounds=args.rounds, seconds=args.seconds, clients=args.clients)


if __name__ == "__main__":
    main()
