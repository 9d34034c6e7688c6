"""Benchmark the ledger against bare baselines and pymerkle 7, measured side by side in one run.

Usage: .venv/bin/python scripts/bench_ledger.py [--big 1000000] [--audit 10000] [--clients 16]
                                             [--entry-bytes 0]
Prints, each against its baseline measured in this same run:
  1. batched append entries/s vs a bare batched INSERT of the same rows    (target >= 0.5)
  2. `dpp audit` entries/s vs bare Ed25519 verify/s x cores                (target >= 0.7)
     beside the floor: the per-entry steps of this audit that no check can skip, in memory,
     and bare verification on all cores at once: how far this machine's cores scale
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
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlmodel import Session

from passport import create_app
from passport.core.log.merkle import leaf_hash, node_hash
from passport.instance import initialise
from passport.services.ledger import nodes, proofs
from passport.services.ledger.log import (
    ENTRY_COLUMNS,
    NewEntry,
    append,
    begin_write,
    insert_many,
    stored_time,
)
from passport.store import db

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
    """Return (ledger append entries/s, bare insert rows/s) for the same rows and batches.

    The two take turns, batch by batch (and which goes first alternates), so that a shared
    machine's drift falls on both alike."""
    data = entries(count)
    hashes = [leaf_hash(e) for e in data]  # the rows as the ledger stores them, made beforehand
    ours, bare = make_app(folder, "append.db"), make_app(folder, "bare.db")

    def ledger_batch(sess: Session, i: int) -> None:
        begin_write(sess)
        append(sess, [NewEntry("bench", e) for e in data[i : i + batch]], at=AT)
        sess.commit()

    def bare_batch(sess: Session, i: int) -> None:
        begin_write(sess)
        # The same rows through the same driver call the ledger uses, minus the tree.
        conn = sess.connection()
        when = stored_time(conn, AT)
        rows = [
            (i + j, "bench", e, None, when, hashes[i + j])
            for j, e in enumerate(data[i : i + batch])
        ]
        insert_many(conn, "ledger_entry", ENTRY_COLUMNS, rows)
        sess.commit()

    spent = [0.0, 0.0]
    with Session(db.engine_of(ours)) as ours_sess, Session(db.engine_of(bare)) as bare_sess:
        turns = [(0, ledger_batch, ours_sess), (1, bare_batch, bare_sess)]
        for n, i in enumerate(range(0, count, batch)):
            for which, run, sess in turns[:: 1 if n % 2 else -1]:
                start = time.perf_counter()
                run(sess, i)
                spent[which] += time.perf_counter() - start
    return count / spent[0], count / spent[1]


def log_entry(n: int, size: int) -> bytes:
    """Entry n of the proof logs: its number, padded to `size` bytes (--entry-bytes)."""
    return (b"%d " % n).ljust(size, b"x")


def build_log(folder: Path, name: str, count: int, size: int, batch: int = 20_000):  # type: ignore[no-untyped-def]
    app = make_app(folder, name)
    with app.app_context(), Session(db.engine()) as sess:
        for i in range(0, count, batch):
            begin_write(sess)
            append(
                sess,
                [NewEntry("bench", log_entry(n, size)) for n in range(i, min(count, i + batch))],
                at=AT,
            )
            sess.commit()
    return app


def proof_p50s(apps: dict[int, Any], *, cached: bool, samples: int = 2000) -> dict[int, float]:
    """Return the median seconds of one inclusion proof (random index) for each log size.

    The sizes take turns, one proof each, so that a shared machine's drift falls on all of them
    alike and their ratio means something. First as many untimed proofs of other random indices
    warm the connections' page caches, as a running service's are (it keeps its connections).
    cached=False reads every node from storage (the node cache holds nothing), which is what
    the O(log n) claim is about; cached=True is what the service does.
    """
    import random

    times: dict[int, list[float]] = {size: [] for size in apps}
    sessions = {size: Session(db.engine_of(app)) for size, app in apps.items()}
    for app in apps.values():
        nodes._caches[db.engine_of(app)] = nodes.NodeCache(capacity=0)
    try:
        warm = random.Random(8)
        for _ in range(samples):
            for size, sess in sessions.items():
                proofs.inclusion(sess, warm.randrange(size), size)
        for app in apps.values():  # the node cache starts empty
            nodes._caches[db.engine_of(app)] = nodes.NodeCache(capacity=(1 << 16) if cached else 0)
        rng = random.Random(7)
        for _ in range(samples):
            for size, sess in sessions.items():
                index = rng.randrange(size)
                start = time.perf_counter()
                proofs.inclusion(sess, index, size)
                times[size].append(time.perf_counter() - start)
    finally:
        for sess in sessions.values():
            sess.close()
    return {size: statistics.median(values) for size, values in times.items()}


def proof_rate(app, size: int, samples: int) -> float:  # type: ignore[no-untyped-def]
    """Return inclusion proofs per second over `samples` random indices (as for pymerkle)."""
    import random

    rng = random.Random(7)
    with app.app_context(), Session(db.engine()) as sess:
        start = time.perf_counter()
        for _ in range(samples):
            proofs.inclusion(sess, rng.randrange(size), size)
        return samples / (time.perf_counter() - start)


def bench_audit(folder: Path, count: int) -> None:
    """Print `dpp audit` entries/s against bare Ed25519 verify/s x cores, both modes."""
    import json

    from passport.core.product.access import Caller
    from passport.services.context import SCHEMAS_DIR
    from passport.services.ledger.audit.run import audit
    from passport.services.ledger.publisher import Publisher
    from passport.services.orgs.organisations import create_organisation
    from passport.services.passports.issue import issue_passports

    app = make_app(folder, "audit.db")
    body = json.loads((SCHEMAS_DIR / "examples" / "textile.json").read_text())
    cores = os.cpu_count() or 1
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        ctx = app.extensions["passport.services"]
        org = create_organisation(
            sess, ctx, slug="b", name="B", roles=["manufacturer"], gcps=["8712345"], at=AT
        )
        caller = Caller(org.id, org.slug, org.roles)
        for i in range(0, count, 1000):
            issue_passports(sess, ctx, caller, [body] * min(1000, count - i), at=AT)
        publisher: Publisher = app.extensions["passport.publisher"]
        publisher.covering(count)
        print(f"2. dpp audit of {count} textile passports, {cores} cores:")
        floor, verify_floor = audit_floor(sess)
        print(
            f"   {'(floor, in memory, one core)':<24} {floor:8.0f} entries/s  verify alone "
            f"{verify_floor:6.0f}/s: at most {floor / verify_floor:.2f} of the bare rate for an "
            "audit that parses, re-canonicalises, hashes and verifies each entry this way"
        )
        for restricted in (False, True):
            start = time.perf_counter()
            report = audit(
                sess,
                publisher.key,
                publisher.keys_dir,
                base_url=ctx.base_url,
                restricted_signatures=restricted,
            )
            rate = report.entries / (time.perf_counter() - start)
            verify = _verify_for(2.0)
            per_entry = (report.signatures + (report.restricted if restricted else 0)) / (
                report.entries
            )
            label = "+ restricted signatures" if restricted else "default"
            print(
                f"   {label:<24} {rate:8.0f} entries/s  bare verify {verify:6.0f}/s x {cores}  "
                f"ratio {rate / (verify * cores):.2f}  (target >= 0.7)  "
                f"[{per_entry:.2f} signatures/entry: per signature "
                f"{rate * per_entry / (verify * cores):.2f}]"
            )
            if not restricted:
                default_rate = rate
        together, alone = verify_on_all_cores(cores)
        print(
            f"   {'(bare verify, all cores)':<24} {together:8.0f}/s on {cores} cores at once = "
            f"{together / alone:.2f} x one core: the machine's own scaling; the default audit "
            f"is {default_rate / together:.2f} of it"
        )


def _verify_for(seconds: float) -> float:
    """Verify one signature over and over for `seconds`; return verifications per second."""
    key = Ed25519PrivateKey.generate()
    message = bytes(64)  # what eddsa-jcs-2022 signs: two SHA-256 digests
    signature, public = key.sign(message), key.public_key()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(500):
            public.verify(signature, message)
        count += 500
    return count / (time.perf_counter() - start)


def verify_on_all_cores(cores: int) -> tuple[float, float]:
    """Return (bare verify/s of `cores` processes verifying at once, of one process alone)."""
    from concurrent.futures import ProcessPoolExecutor

    alone = _verify_for(1.0)
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_verify_for, [0.1] * cores))  # the processes are up before timing
        together = sum(pool.map(_verify_for, [1.0] * cores))
    return together, alone


def audit_floor(sess: Session) -> tuple[float, float]:
    """Return (entries/s, verifications/s) for the per-entry steps of this audit that no check
    can skip.

    In memory, one core, nothing read from the database and nothing served checked: parse the
    entry, compare its canonical bytes (each member serialised once) and cut the signed texts
    from it, hash them, decode the signature, verify it, hash the leaf. `dpp audit` does all of
    this and more (reads, the text check that decides the fast path, the history rows,
    restricted digests), so it cannot beat this ratio.
    """
    import hashlib

    import orjson

    from passport.core.log.kinds import credential_of
    from passport.core.signing.dataintegrity import signed_parts
    from passport.core.signing.multibase import decode_signature
    from passport.services.ledger.audit.run import _key_history

    keys = _key_history(sess)
    rows = sess.execute(
        text("SELECT idx, entry FROM ledger_entry WHERE kind LIKE 'passport%' ORDER BY idx")
    ).all()
    work = []
    for index, raw in rows:
        proof = orjson.loads(raw)["credential"]["proof"]
        method = proof["verificationMethod"]
        work.append(
            (bytes(raw), Ed25519PublicKey.from_public_bytes(keys.key_for(method, index=index)))
        )
    start = time.perf_counter()
    verified = []
    for raw, public in work:
        body = orjson.loads(raw)
        credential = body["credential"]
        # As the audit does: serialise each member once, compare, cut the signed texts.
        parts = signed_parts(credential_of(raw, body["kind"]), credential)
        if parts is None:
            raise SystemExit("bench: an entry is not canonical")
        proof = credential["proof"]
        signed = hashlib.sha256(parts[0]).digest() + hashlib.sha256(parts[1]).digest()
        signature = decode_signature(proof["proofValue"])
        public.verify(signature, signed)
        leaf_hash(raw)
        verified.append((public, signature, signed))
    floor = len(work) / (time.perf_counter() - start)
    start = time.perf_counter()
    for public, signature, signed in verified:
        public.verify(signature, signed)
    return floor, len(work) / (time.perf_counter() - start)


def _threads(count: int, clients: int, work) -> float:  # type: ignore[no-untyped-def]
    """Run work(i) for i < count on `clients` threads; return completions per second."""
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, range(count)))
    return count / (time.perf_counter() - start)


def bench_peer(
    folder: Path, args: argparse.Namespace, ours_batched: float, logs: dict[int, Any]
) -> None:
    """The same append and proof workloads on pymerkle 7's SqliteTree, with identical roots."""
    try:
        from pymerkle import SqliteTree  # type: ignore[import-untyped]
    except ImportError:
        print("4. pymerkle peer: skipped (pip install 'pymerkle>=7,<8')")
        return
    import random

    from passport.core.log.merkle import root as merkle_root
    from passport.services.ledger.nodes import StoredNodes
    from passport.services.ledger.sequencer import Sequencer

    print("4. pymerkle 7 (SqliteTree, its defaults) on the same workloads:")
    # a. Part 1's workload: the same entries in the same batches, one commit per batch.
    data = entries(args.append)
    tree = SqliteTree(str(folder / "peer-batched.db"))
    start = time.perf_counter()
    for i in range(0, len(data), args.batch):
        tree.append_entries(data[i : i + args.batch])
    peer = len(data) / (time.perf_counter() - start)
    tree.close()
    _ratio(f"append, batches of {args.batch}", ours_batched, peer, 5)
    # The floor for any RFC 9162 log: hash every leaf and every inner node, nothing stored.
    start = time.perf_counter()
    level = [leaf_hash(e) for e in data]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    floor = len(data) / (time.perf_counter() - start)
    print(
        f"   {'(hashing alone: leaves and inner nodes)':<40} {floor:10.0f}/s  "
        f"= {floor / peer:.1f}x pymerkle's batched append, before any row is written"
    )
    # b. The service's workload: clients each append one entry and wait until it is durable.
    #    Ours: the sequencer's group commit. pymerkle: append_entry, one commit each.
    single = entries(args.single)
    tree = SqliteTree(str(folder / "peer-single.db"))
    peer = _threads(len(single), args.clients, lambda i: tree.append_entry(single[i]))
    tree.close()
    app = make_app(folder, "ours-single.db")
    sequencer = Sequencer(db.engine_of(app))

    def one(i: int) -> list[int]:
        job = lambda sess: append(sess, [NewEntry("bench", single[i])], at=AT)  # noqa: E731
        return sequencer.run(job, entries=1, conflict="")

    ours = _threads(len(single), args.clients, one)
    sequencer.close()
    _ratio(f"append, {args.clients} clients, one entry each", ours, peer, 5)
    # c. Inclusion proofs at the sizes of part 3, random indices, as many as each.
    for size, app in logs.items():
        tree = SqliteTree(str(folder / f"peer-{size}.db"))
        tree.append_entries([log_entry(n, args.entry_bytes) for n in range(size)])
        rng = random.Random(7)
        start = time.perf_counter()
        for _ in range(args.proofs):
            tree.prove_inclusion(rng.randrange(size) + 1, size)  # pymerkle counts from 1
        peer = args.proofs / (time.perf_counter() - start)
        same = tree.get_root(size)
        tree.close()
        with app.app_context(), Session(db.engine()) as sess:
            same = same == merkle_root(size, StoredNodes(sess))
        with app.app_context():  # a cold cache, as pymerkle's starts
            nodes._caches[db.engine()] = nodes.NodeCache()
        ours = proof_rate(app, size, args.proofs)
        _ratio(f"inclusion proofs at {size}", ours, peer, 10, f"identical roots: {same}")


def _ratio(label: str, ours: float, peer: float, target: float, extra: str = "") -> None:
    print(
        f"   {label:<40} ours {ours:10.0f}/s  pymerkle {peer:10.0f}/s  "
        f"ratio {ours / peer:6.1f}x  (target >= {target}x)  {extra}"
    )


def main() -> None:
    """Run all four measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--audit", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=4000, help="single-entry appends")
    parser.add_argument("--clients", type=int, default=16, help="threads appending singly")
    parser.add_argument("--proofs", type=int, default=300, help="proofs per peer measurement")
    parser.add_argument(
        "--entry-bytes", type=int, default=0, help="pad the proof logs' entries to this size"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger, bare = bench_append(folder, args.append, args.batch)
        print(f"1. append, {args.append} entries in batches of {args.batch}:")
        print(
            f"   ledger {ledger:10.0f}/s  bare insert {bare:10.0f}/s  "
            f"ratio {ledger / bare:.2f}  (target >= 0.5)"
        )
        bench_audit(folder, args.audit)
        small = build_log(folder, "small.db", 10_000, args.entry_bytes)
        t0 = time.perf_counter()
        big = build_log(folder, "big.db", args.big, args.entry_bytes)
        built = time.perf_counter() - t0
        print(
            f"3. inclusion proof p50, 2000 random indices each, the sizes taking turns "
            f"(log of {args.big}: {built:.0f} s):"
        )
        for cached, label in ((False, "from storage"), (True, "node cache on")):
            p50 = proof_p50s({10_000: small, args.big: big}, cached=cached)
            p_small, p_big = p50[10_000], p50[args.big]
            print(
                f"   {label:<14} 10^4: {p_small * 1e3:.3f} ms   {args.big}: {p_big * 1e3:.3f} ms   "
                f"ratio {p_big / p_small:.2f}  (target <= 2 ms, ratio <= 1.5)"
            )
        bench_peer(folder, args, ledger, {10_000: small, args.big: big})


if __name__ == "__main__":
    main()
