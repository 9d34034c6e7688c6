"""Benchmark the ledger against bare baselines and pymerkle 7, measured side by side in one run.

Usage: .venv/bin/python scripts/bench_ledger.py [--big 1000000] [--audit 3000] [--peer 20000]
Prints, each against its baseline measured in this same run:
  1. batched append entries/s vs a bare batched INSERT of the same rows    (target >= 0.5)
  2. `dpp audit` entries/s vs bare Ed25519 verify/s x cores                (target >= 0.7)
  3. inclusion-proof p50 at 10^4 and at --big entries, in process
     (target <= 2 ms, ratio <= 1.5)
  4. the same append and proof workload on pymerkle 7's SqliteTree          (target >= 5x, >= 10x)
     with identical roots.
pymerkle is only needed for part 4: `pip install 'pymerkle>=7,<8'`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert
from sqlmodel import Session

from passport import create_app, db
from passport.services import proofs
from passport.services.ledger import NewEntry, append, begin_write
from passport.setup import initialise
from passport.tables import LedgerEntryRow, table_of

AT = datetime(2026, 11, 22, tzinfo=UTC)


def make_app(folder: Path, name: str):  # type: ignore[no-untyped-def]
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / name}",
            "DPP_KEYS_DIR": str(folder / f"keys-{name}"),
            "DPP_KEY_PASSPHRASE": "bench",
        }
    )
    with app.app_context():
        initialise(app)
    return app


def entries(count: int, size: int = 200) -> list[bytes]:
    return [b'{"v":1,"n":%d,"pad":"%s"}' % (i, b"x" * size) for i in range(count)]


def bench_append(folder: Path, count: int, batch: int) -> tuple[float, float]:
    """Return (ledger append entries/s, bare insert rows/s) for the same rows and batches."""
    data = entries(count)
    app = make_app(folder, "append.db")
    with app.app_context(), Session(db.engine()) as sess:
        start = time.perf_counter()
        for i in range(0, count, batch):
            begin_write(sess)
            append(sess, [NewEntry("bench", e) for e in data[i : i + batch]], at=AT)
            sess.commit()
        ledger_rate = count / (time.perf_counter() - start)
    bare = make_app(folder, "bare.db")
    with bare.app_context(), Session(db.engine()) as sess:
        start = time.perf_counter()
        for i in range(0, count, batch):
            begin_write(sess)
            rows = [
                {"idx": i + j, "kind": "bench", "entry": e, "passport_id": None, "created_at": AT}
                for j, e in enumerate(data[i : i + batch])
            ]
            sess.connection().execute(insert(table_of(LedgerEntryRow)), rows)
            sess.commit()
        bare_rate = count / (time.perf_counter() - start)
    return ledger_rate, bare_rate


def build_log(folder: Path, name: str, count: int, batch: int = 20_000):  # type: ignore[no-untyped-def]
    app = make_app(folder, name)
    with app.app_context(), Session(db.engine()) as sess:
        for i in range(0, count, batch):
            begin_write(sess)
            append(
                sess, [NewEntry("bench", b"%d" % n) for n in range(i, min(count, i + batch))], at=AT
            )
            sess.commit()
    return app


def proof_p50(app, size: int, samples: int = 2000) -> float:  # type: ignore[no-untyped-def]
    """Return the median seconds of one inclusion proof (random index) from storage."""
    import random

    rng = random.Random(7)
    times = []
    with app.app_context(), Session(db.engine()) as sess:
        for _ in range(samples):
            index = rng.randrange(size)
            start = time.perf_counter()
            proofs.inclusion(sess, index, size)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def proof_rate(app, size: int, samples: int) -> float:  # type: ignore[no-untyped-def]
    """Return inclusion proofs per second over `samples` random indices (as for pymerkle)."""
    import random

    rng = random.Random(7)
    with app.app_context(), Session(db.engine()) as sess:
        start = time.perf_counter()
        for _ in range(samples):
            proofs.inclusion(sess, rng.randrange(size), size)
        return samples / (time.perf_counter() - start)


def bench_audit(folder: Path, count: int) -> tuple[float, float, int, int]:
    """Return (audit entries/s, bare verify/s on one core, cores, signatures verified)."""
    import json

    from passport.services.audit import audit
    from passport.services.context import SCHEMAS_DIR
    from passport.services.issuing import issue_passports
    from passport.services.orgs import create_organisation
    from passport.services.publisher import Publisher
    from passport.services.tokens import Caller

    app = make_app(folder, "audit.db")
    body = json.loads((SCHEMAS_DIR / "examples" / "textile.json").read_text())
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        ctx = app.extensions["passport.services"]
        org = create_organisation(sess, ctx, slug="b", name="B", roles=["manufacturer"], at=AT)
        caller = Caller(org.id, org.slug, org.roles)
        for i in range(0, count, 1000):
            issue_passports(sess, ctx, caller, [body] * min(1000, count - i), at=AT)
        publisher: Publisher = app.extensions["passport.publisher"]
        publisher.covering(count)
        start = time.perf_counter()
        report = audit(sess, publisher.key, publisher.keys_dir, base_url=ctx.base_url)
        elapsed = time.perf_counter() - start
    key = Ed25519PrivateKey.generate()
    message = bytes(64)
    signature = key.sign(message)
    public = key.public_key()
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        public.verify(signature, message)
    verify_rate = n / (time.perf_counter() - start)
    return report.entries / elapsed, verify_rate, os.cpu_count() or 1, report.signatures


def bench_peer(folder: Path, count: int, ours_app) -> None:  # type: ignore[no-untyped-def]
    try:
        from pymerkle import SqliteTree
    except ImportError:
        print("4. pymerkle peer: skipped (pip install 'pymerkle>=7,<8')")
        return
    data = [b"%d" % n for n in range(count)]
    tree = SqliteTree(str(folder / "pymerkle.db"))
    start = time.perf_counter()
    tree.append_entries(data)
    peer_append = count / (time.perf_counter() - start)
    peer_root = tree.get_root(count)
    import random

    rng = random.Random(7)
    samples = 300
    start = time.perf_counter()
    for _ in range(samples):
        tree.prove_inclusion(rng.randrange(count) + 1, count)  # pymerkle counts from 1
    peer_proofs = samples / (time.perf_counter() - start)
    tree.close()

    ours = make_app(folder, "ours-peer.db")
    with ours.app_context(), Session(db.engine()) as sess:
        start = time.perf_counter()
        begin_write(sess)
        append(sess, [NewEntry("bench", e) for e in data], at=AT)
        sess.commit()
        our_append = count / (time.perf_counter() - start)
        from passport.core.merkle import root as merkle_root
        from passport.services.ledger import StoredNodes

        ours_root = merkle_root(count, StoredNodes(sess))
    our_proofs = proof_rate(ours, count, samples)
    print(f"4. pymerkle 7 peer, {count} entries (one batch each):")
    print(
        f"   append  ours {our_append:10.0f}/s  pymerkle {peer_append:10.0f}/s  "
        f"ratio {our_append / peer_append:6.1f}x  (target >= 5x)"
    )
    print(
        f"   proofs  ours {our_proofs:10.0f}/s  pymerkle {peer_proofs:10.0f}/s  "
        f"ratio {our_proofs / peer_proofs:6.1f}x  (target >= 10x)"
    )
    print(f"   identical roots: {ours_root == peer_root}")


def main() -> None:
    """Run all four measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--audit", type=int, default=3000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--peer", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger, bare = bench_append(folder, args.append, args.batch)
        print(f"1. append, {args.append} entries in batches of {args.batch}:")
        print(
            f"   ledger {ledger:10.0f}/s  bare insert {bare:10.0f}/s  "
            f"ratio {ledger / bare:.2f}  (target >= 0.5)"
        )
        rate, verify, cores, signatures = bench_audit(folder, args.audit)
        per_entry = signatures / (args.audit + 1)
        print(f"2. audit of {args.audit} passports ({per_entry:.1f} signatures per entry):")
        print(
            f"   audit {rate:10.0f} entries/s  bare verify {verify:10.0f}/s x {cores} cores  "
            f"ratio {rate / (verify * cores):.2f}  (target >= 0.7); "
            f"per signature {rate * per_entry / (verify * cores):.2f}"
        )
        small = build_log(folder, "small.db", 10_000)
        t0 = time.perf_counter()
        big = build_log(folder, "big.db", args.big)
        built = time.perf_counter() - t0
        p_small, p_big = proof_p50(small, 10_000), proof_p50(big, args.big)
        print(f"3. inclusion proof p50 (log of {args.big} built in {built:.0f} s):")
        print(
            f"   10^4: {p_small * 1e3:.3f} ms   {args.big}: {p_big * 1e3:.3f} ms   "
            f"ratio {p_big / p_small:.2f}  (target <= 2 ms, ratio <= 1.5)"
        )
        bench_peer(folder, args.peer, small)


if __name__ == "__main__":
    main()
