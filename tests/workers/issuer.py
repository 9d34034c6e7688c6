"""A worker process for the concurrency and crash tests: issues passports in small batches.

Usage: python -m tests.workers.issuer ROUNDS SEED  (config from the environment, as `dpp` reads
it). After each committed batch it prints one line `ok <index> <passport path> …` and flushes,
so the parent knows exactly what was acknowledged when it kills the process.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime

from sqlmodel import Session

from passport import create_app
from passport.core.product.access import Caller
from passport.services.context import SCHEMAS_DIR
from passport.services.orgs.organisations import get_organisation
from passport.services.passports.issue import issue_passports
from passport.store import db


def main() -> None:
    """Issue ROUNDS batches of 1-5 passports as organisation `maker`."""
    rounds, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    app = create_app()
    body = json.loads((SCHEMAS_DIR / "examples" / "textile.json").read_text("utf-8"))
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        ctx = app.extensions["passport.services"]
        org = get_organisation(sess, "maker")
        caller = Caller(org.id, org.slug, org.roles)
        print("ready", flush=True)
        for _ in range(rounds):
            at = datetime.now(UTC).replace(microsecond=0)
            views = issue_passports(sess, ctx, caller, [body] * rng.randint(1, 5), at=at)
            pairs = " ".join(f"{v.ledger_index} {v.id}" for v in views)
            print(f"ok {pairs}", flush=True)


if __name__ == "__main__":
    main()
