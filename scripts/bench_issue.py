"""Benchmark: bulk issuance through the service layer vs bare Ed25519 signing, and storage.

Usage: .venv/bin/python scripts/bench_issue.py [N] [--category textile|mattress] [--batch B]
The rates are measured in this one run, side by side (bare signing before and after the
issuance, on one core and on all cores at once), so the ratios mean something on a shared,
noisy machine. Targets (issue 12): passports/s >= 0.15 of one core's bare sign rate (a textile
passport makes three signatures, so three signatures and everything else at under twice their
cost); bytes stored per textile passport <= 6 KB on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlmodel import Session

from passport import create_app
from passport.core.product.access import Caller
from passport.instance import initialise
from passport.services.context import SCHEMAS_DIR, ServiceContext
from passport.services.orgs.organisations import create_organisation
from passport.services.passports.issue import issue_passports
from passport.store import db
from passport.store.sql import truncate_wal


def bare_sign_rate(count: int) -> float:
    """Return Ed25519 signatures per second of `cryptography` over 64-byte messages."""
    key = Ed25519PrivateKey.generate()
    message = bytes(64)
    start = time.perf_counter()
    for _ in range(count):
        key.sign(message)
    return count / (time.perf_counter() - start)


def _sign_for(count: int) -> float:
    return bare_sign_rate(count)


def bare_sign_rate_all_cores(count: int) -> float:
    """Return Ed25519 signatures per second of one process per core signing at once."""
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_sign_for, [100] * cores))  # start the processes first
        start = time.perf_counter()
        list(pool.map(_sign_for, [count] * cores))
        return cores * count / (time.perf_counter() - start)


def stored_bytes(engine: Engine) -> int:
    """Bytes the SQLite database holds in use, the write-ahead log folded in first."""
    truncate_wal(engine)
    with engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        free = conn.execute(text("PRAGMA freelist_count")).scalar_one()
        size = conn.execute(text("PRAGMA page_size")).scalar_one()
    return int((pages - free) * size)


def issue_rate(count: int, category: str, batch: int) -> tuple[float, int, float]:
    """Return passports per second issued and stored on a fresh SQLite database, signatures
    per passport, and bytes stored per passport."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "DPP_KEYS_DIR": str(Path(tmp) / "keys"),
                "DPP_KEY_PASSPHRASE": "bench",
            }
        )
        with app.app_context():
            initialise(app)
            ctx: ServiceContext = app.extensions["passport.services"]
            body = json.loads((SCHEMAS_DIR / "examples" / f"{category}.json").read_text("utf-8"))
            at = datetime.now(UTC).replace(microsecond=0)
            with Session(db.engine(), expire_on_commit=False) as sess:
                org = create_organisation(
                    sess,
                    ctx,
                    slug="bench",
                    name="Bench",
                    roles=["manufacturer"],
                    gcps=[body["gtin"][1:8]],  # the example's company prefix
                    at=at,
                )
                caller = Caller(org.id, org.slug, org.roles)
                issue_passports(sess, ctx, caller, [body], at=at)  # warm up caches
                before = stored_bytes(db.engine())
                signatures = 0
                start = time.perf_counter()
                for done in range(0, count, batch):
                    views = issue_passports(
                        sess, ctx, caller, [body] * min(batch, count - done), at=at
                    )
                    signatures += sum(1 + len(v.restricted) for v in views)
                elapsed = time.perf_counter() - start
            per_passport = (stored_bytes(db.engine()) - before) / count
            db.engine().dispose()
    return count / elapsed, signatures // count, per_passport


def main() -> None:
    """Run both measurements and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000)
    parser.add_argument("--category", default="textile", choices=["textile", "mattress"])
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    sign = bare_sign_rate(args.n * 3)
    cores = bare_sign_rate_all_cores(args.n * 3)
    issued, per_passport, stored = issue_rate(args.n, args.category, args.batch)
    sign_after = bare_sign_rate(args.n * 3)
    cores_after = bare_sign_rate_all_cores(args.n * 3)
    bare, bare_all = (sign + sign_after) / 2, (cores + cores_after) / 2
    print(f"passports issued ({args.category}, batches of {args.batch}): {issued:10.0f} /s")
    print(f"  signatures per passport (public + restricted tiers): {per_passport}")
    print(f"bare Ed25519 sign, one core (mean of before/after):  {bare:10.0f} /s")
    print(f"bare Ed25519 sign, all {os.cpu_count()} cores at once:        {bare_all:10.0f} /s")
    print(f"ratio passports/s : one core's sign/s  = {issued / bare:.3f}   (target >= 0.15)")
    print(f"ratio passports/s : all cores' sign/s  = {issued / bare_all:.3f}")
    print(f"ratio per signature made (one core)    = {issued * per_passport / bare:.3f}")
    print(f"bytes stored per passport (SQLite)     = {stored:10.0f}   (target <= 6144)")


if __name__ == "__main__":
    main()
