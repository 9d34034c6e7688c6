"""A worker process for the concurrency and crash tests, and the handle the tests drive it with.

Run as `python -m tests._ledger_worker --org SLUG [--rounds N] [--seed S] [--max-batch K]
[--checkpoints] [--restart] [--wait]` with the app's settings in the environment (as `dpp`
reads them). It issues passports through the service layer (`issue_passports`) in batches of
1..K, and after each committed batch prints one line `ok <ledger index> <passport path> …` and
flushes, so the parent knows exactly what was acknowledged when it kills the process. Lines:

    loaded         (with --hold) modules imported, waiting for a line on stdin
    ready          the app is built (with --restart: migrated and start-up checked)
    ok I P I P …   a batch committed: ledger index I was given to passport P
    done N         all --rounds rounds issued, N passports in all (never with --rounds 0)

The parent waits on these lines (`Worker.wait_for`, with a bound on how long), never on time.

--checkpoints calls `Publisher.after_write()` after each batch, as the API does after a write.
--hold makes it import its modules, print "loaded" and read one line from stdin before it builds
the app, so a test can start the interpreter of the next worker while it checks the last one.
--wait makes it read one line from stdin after "ready" before issuing, so several workers can
start appending at the same moment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Worker:
    """The parent's handle on one worker process: its complete output lines, as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests._ledger_worker", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []  # complete (newline-terminated) stdout lines only
        self.stderr = ""
        self._ended = False  # stdout closed: no more lines will come
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut short by SIGKILL was never acknowledged
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:  # end of output: no waiter may hang on a line that cannot come
            self._ended = True
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def wait_for(self, what: str, done: Callable[[list[str]], bool], timeout: float) -> None:
        """Block until `done(lines)` holds; fail naming `what` if the worker's output ended
        first or `timeout` seconds passed (a bound for a hung worker, not a schedule)."""
        with self._changed:
            reached = self._changed.wait_for(lambda: done(self.lines) or self._ended, timeout)
            if reached and done(self.lines):
                return
        self.kill()
        self.finish(timeout=10)
        raise AssertionError(f"worker never reached {what}: rc={self.proc.returncode}\n{self}")

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until the worker printed "ready"; fail with its stderr if it died first."""
        self.wait_for("ready", lambda lines: "ready" in lines, timeout)

    def wait_batches(self, count: int, timeout: float = 60) -> None:
        """Block until the worker reported `count` committed batches ("ok" lines)."""
        self.wait_for(
            f"{count} committed batches",
            lambda lines: sum(line.startswith("ok ") for line in lines) >= count,
            timeout,
        )

    def go(self) -> None:
        """Let a worker started with --hold build its app, or one started with --wait issue."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the worker: no cleanup, no flushing, like a power cut to the process."""
        self.proc.send_signal(signal.SIGKILL)

    def finish(self, timeout: float) -> int:
        """Wait for the process to end, collect all its output and close the pipes."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait(10)
        for reader in self._readers:
            reader.join(10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
        return self.proc.returncode

    def acknowledged(self) -> dict[str, int]:
        """Map each passport path the worker reported as committed to its ledger index."""
        found: dict[str, int] = {}
        for line in self.lines:
            if line.startswith("ok "):
                words = line.split()[1:]
                assert len(words) % 2 == 0, line
                for index, path in zip(words[::2], words[1::2], strict=True):
                    assert path not in found, f"{path} acknowledged twice"
                    found[path] = int(index)
        return found

    def issued(self) -> int:
        """Return the count of the worker's final "done N" line."""
        done = [line for line in self.lines if line.startswith("done ")]
        assert len(done) == 1, f"no final done line\n{self}"
        return int(done[0].split()[1])

    def __str__(self) -> str:
        tail = "\n".join(self.lines[-5:])
        return f"--- stdout (last lines) ---\n{tail}\n--- stderr ---\n{self.stderr[-6000:]}"


def main() -> None:
    """Issue passports as organisation --org until --rounds batches are done (0: forever)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--org", required=True)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=5)
    parser.add_argument("--checkpoints", action="store_true", help="after_write() per batch")
    parser.add_argument("--restart", action="store_true", help="initialise + check_startup")
    parser.add_argument("--hold", action="store_true", help="read a line before create_app")
    parser.add_argument("--wait", action="store_true", help="read a line before issuing")
    args = parser.parse_args()

    from sqlmodel import Session

    from passport import create_app
    from passport.core.product.access import Caller
    from passport.instance import check_startup, initialise
    from passport.services.context import SCHEMAS_DIR, ServiceContext
    from passport.services.ledger.publisher import Publisher
    from passport.services.orgs.organisations import get_organisation, signer_for
    from passport.services.passports.issue import issue_passports
    from passport.store import db

    rng = random.Random(args.seed)
    bodies = [
        json.loads((SCHEMAS_DIR / "examples" / f"{name}.json").read_text("utf-8"))
        for name in ("textile", "mattress")
    ]
    if args.hold:
        print("loaded", flush=True)
        sys.stdin.readline()
    app = create_app()
    ctx: ServiceContext = app.extensions["passport.services"]
    publisher: Publisher = app.extensions["passport.publisher"]
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        if args.restart:  # what `dpp serve` does before it serves
            initialise(app)
            check_startup(app)
        org = get_organisation(sess, args.org)
        caller = Caller(org.id, org.slug, org.roles)
        signer_for(sess, ctx, caller)  # load (decrypt) the signing key before "ready"
        sess.commit()
        print("ready", flush=True)
        if args.wait:
            sys.stdin.readline()
        issued = 0
        done = 0
        while args.rounds == 0 or done < args.rounds:
            batch = [rng.choice(bodies) for _ in range(rng.randint(1, args.max_batch))]
            views = issue_passports(sess, ctx, caller, batch, at=datetime.now(UTC))
            print("ok " + " ".join(f"{v.ledger_index} {v.id}" for v in views), flush=True)
            issued += len(views)
            done += 1
            if args.checkpoints:
                publisher.after_write()
        print(f"done {issued}", flush=True)
    publisher.close()
    ctx.sequencer.close()
    db.engine_of(app).dispose()


if __name__ == "__main__":
    main()
