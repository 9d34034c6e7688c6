"""Plain helpers and constants the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, make_url, text

from passport import create_app
from passport.instance import initialise
from passport.store import db

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"
PG_ADMIN_URL = os.environ.get(
    "DPP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The API tests check HTTP behaviour, which the database does not change: outside CI they run
# on SQLite only (the tests of the ledger, concurrency, crashes, audit and migrations under
# tests/services run on PostgreSQL everywhere it is reachable). CI, or this variable, runs all.
ALL_DATABASES = IN_CI or os.environ.get("DPP_TEST_ALL_DATABASES", "") not in ("", "0")
PASSPHRASE = "test-passphrase"
BASE_URL = "https://dpp.example.nl"


def _postgres_reason() -> str | None:
    """Return why PostgreSQL tests cannot run here, or None when they can."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc.__class__.__name__}"
    return None


PG_REASON = _postgres_reason()


def require_postgres() -> None:
    """Skip (fail with CI set) when PostgreSQL cannot be reached."""
    if PG_REASON is not None:
        if IN_CI:
            pytest.fail(f"CI is set but {PG_REASON}")
        pytest.skip(PG_REASON)


def admin_sql(*statements: str) -> None:
    """Run statements on the PostgreSQL admin URL outside a transaction (CREATE DATABASE…)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def database_url_of(name: str) -> str:
    """The URL of database `name` on the admin URL's server."""
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


# A populated template database, built once per session and database kind, copied per test.

Populate = Callable[[Flask], dict[str, Any]]


class Templates:
    """Populated databases (with their keys folder) built once and copied for each test.

    SQLite: the database file and the keys folder are copied. PostgreSQL: the template is a
    database of its own, and each test gets `CREATE DATABASE … TEMPLATE` of it (a file copy
    on the server), dropped after the test. A change a test makes lands in its copy only.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.built: dict[tuple[str, str], tuple[str, Path, dict[str, Any]]] = {}
        self.databases: list[str] = []

    def _build(self, kind: str, populate: Populate) -> tuple[str, Path, dict[str, Any]]:
        key = (kind, f"{populate.__module__}.{populate.__qualname__}")
        if key not in self.built:
            folder = self.root / f"{kind}-{len(self.built)}"
            folder.mkdir()
            if kind == "sqlite":
                url = f"sqlite:///{folder / 'template.db'}"
            else:
                name = f"tpl_{uuid.uuid4().hex[:12]}"
                admin_sql(f"CREATE DATABASE {name}")
                self.databases.append(name)
                url = database_url_of(name)
            app = build_app(url, folder / "keys")
            try:
                with app.app_context():
                    initialise(app)
                data = populate(app)
            finally:
                close_app(app)  # no connection may stay open on a template database
            self.built[key] = (url, folder, data)
        return self.built[key]

    def copy(self, kind: str, populate: Populate, tmp_path: Path) -> Iterator[str]:
        """Yield the URL of a fresh copy of the populated database, its keys in tmp_path/keys."""
        if kind == "postgresql":
            require_postgres()
        url, folder, _data = self._build(kind, populate)
        shutil.copytree(folder / "keys", tmp_path / "keys")
        if kind == "sqlite":
            for source in folder.glob("template.db*"):  # with any -wal / -shm beside it
                shutil.copyfile(source, tmp_path / source.name.replace("template", "test", 1))
            yield f"sqlite:///{tmp_path / 'test.db'}"
            return
        name = f"t_{uuid.uuid4().hex[:12]}"
        template = make_url(url).database
        admin_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
        try:
            yield database_url_of(name)
        finally:
            admin_sql(f"DROP DATABASE {name} WITH (FORCE)")

    def data(self, kind: str, populate: Populate) -> dict[str, Any]:
        """What `populate` returned for the template (tokens, ids): the same in every copy."""
        return dict(self._build(kind, populate)[2])

    def close(self) -> None:
        for name in self.databases:
            admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def trials(full: int, quick: int) -> int:
    """How many trials a slow test runs: `full` with CI set, `quick` otherwise."""
    return full if IN_CI else quick


def example(name: str) -> dict[str, Any]:
    """Return a fresh copy of `schemas/examples/{name}.json`."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return loaded


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def build_app(database_url: str, keys_dir: Path) -> Flask:
    """An app for tests on `database_url`, keys in `keys_dir` (not yet initialised)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DPP_KEYS_DIR": str(keys_dir),
            "DPP_KEY_PASSPHRASE": PASSPHRASE,
            "DPP_BASE_URL": BASE_URL,
        }
    )


def close_app(app: Flask) -> None:
    """Stop an app's background work and close every database connection it holds."""
    app.extensions["passport.publisher"].close()
    app.extensions["passport.services"].sequencer.close()
    with app.app_context():
        db.engine().dispose()


def create_org(runner: FlaskCliRunner, slug: str, *roles: str) -> str:
    """Create an organisation with `roles` through the CLI; return a fresh token for it.

    A manufacturer gets the GS1 company prefixes of both examples (textile 8712345, mattress
    8712346), so it may issue either; a remanufacturer gets 8712347 (the remanufacture
    example's successor) and a recycler 8712348 (its material lots).
    """
    args = ["org", "create", slug, "--name", slug.title()]
    for role in roles:
        args += ["--role", role]
    if "manufacturer" in roles:
        args += ["--gcp", "8712345", "--gcp", "8712346"]
    if "remanufacturer" in roles:
        args += ["--gcp", "8712347"]
    if "recycler" in roles:
        args += ["--gcp", "8712348"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    token = runner.invoke(args=["token", "create", slug])
    assert token.exit_code == 0, (token.output, repr(token.exception))
    return token.stdout.strip()


def correct(client: Any, token: str, passport_id: str) -> dict[str, Any]:
    """Correct a textile passport (another name) and wait for a checkpoint; return the answer."""
    product = example("textile")["product"]
    product["name"] = "Corrected name"
    corrected = client.post(
        f"/api/v1/passports/{passport_id}/versions?wait=checkpoint",
        json={"product": product},
        headers=bearer(token),
    )
    assert corrected.status_code == 201, corrected.get_json()
    answer: dict[str, Any] = corrected.get_json()
    return answer


def run_audit(runner: FlaskCliRunner) -> Any:
    """`dpp audit --workers 2`."""
    return runner.invoke(args=["audit", "--workers", "2"])


def sql(app: Flask, statement: str, **params: Any) -> None:
    """Run one statement in its own transaction, committed."""
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(text(statement), params)


def value(app: Flask, statement: str, **params: Any) -> Any:
    """The single value a query returns."""
    with app.app_context(), db.engine().connect() as conn:
        return conn.execute(text(statement), params).scalar_one()


def stored_entry(app: Flask, index: int) -> bytes:
    """The stored bytes of ledger entry `index`."""
    return bytes(value(app, "SELECT entry FROM ledger_entry WHERE idx = :i", i=index))


def flip(data: bytes, at: int) -> bytes:
    """`data` with the lowest bit of byte `at` flipped."""
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_env(app: Flask) -> dict[str, str]:
    """The settings of `app`, as environment variables for a worker process."""
    return {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "DPP_KEYS_DIR": app.config["DPP_KEYS_DIR"],
        "DPP_KEY_PASSPHRASE": app.config["DPP_KEY_PASSPHRASE"],
        "DPP_BASE_URL": app.config["DPP_BASE_URL"],
    }
