"""Benchmark: passports issued per second through the service layer vs bare Ed25519 signing.

Usage: .venv/bin/python scripts/bench_issue.py [N] [--category textile|mattress]
Both rates are measured in this one run, side by side, so the ratio means something on a
shared, noisy machine. Target: ratio >= 0.5 (issuing and storing a passport costs at most
twice a bare signature).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from passport import create_app
from passport.core.product.access import Caller
from passport.instance import initialise
from passport.services.context import SCHEMAS_DIR, ServiceContext
from passport.services.orgs.organisations import create_organisation
from passport.services.passports.issue import issue_passports
from passport.store import db


def bare_sign_rate(count: int) -> float:
    """Return Ed25519 signatures per second of `cryptography` over 64-byte messages."""
    key = Ed25519PrivateKey.generate()
    message = bytes(64)
    start = time.perf_counter()
    for _ in range(count):
        key.sign(message)
    return count / (time.perf_counter() - start)


def issue_rate(count: int, category: str, batch: int) -> tuple[float, int]:
    """Return passports per second issued and stored on a fresh SQLite database."""
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
                    sess, ctx, slug="bench", name="Bench", roles=["manufacturer"], at=at
                )
                caller = Caller(org.id, org.slug, org.roles)
                issue_passports(sess, ctx, caller, [body], at=at)  # warm up caches
                signatures = 0
                start = time.perf_counter()
                for done in range(0, count, batch):
                    views = issue_passports(
                        sess, ctx, caller, [body] * min(batch, count - done), at=at
                    )
                    signatures += sum(1 + len(v.restricted) for v in views)
                elapsed = time.perf_counter() - start
            db.engine().dispose()
    return count / elapsed, signatures // count


def main() -> None:
    """Run both measurements and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000)
    parser.add_argument("--category", default="textile", choices=["textile", "mattress"])
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    sign = bare_sign_rate(args.n * 3)
    issued, per_passport = issue_rate(args.n, args.category, args.batch)
    sign_after = bare_sign_rate(args.n * 3)
    bare = (sign + sign_after) / 2
    print(f"passports issued ({args.category}, batches of {args.batch}): {issued:10.0f} /s")
    print(f"  signatures per passport (public + restricted tiers): {per_passport}")
    print(f"bare Ed25519 sign (cryptography, mean of before/after): {bare:10.0f} /s")
    print(f"ratio passports/s : sign/s = {issued / bare:.3f}   (target >= 0.5)")
    print(f"ratio per signature made  = {issued * per_passport / bare:.3f}")


if __name__ == "__main__":
    main()
