"""Fixtures: a fresh database per test on SQLite, and on PostgreSQL when it is reachable."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from passport import create_app
from passport.instance import initialise
from passport.store import db

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "schemas" / "examples"
PG_ADMIN_URL = os.environ.get(
    "DPP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


_PG_REASON = _postgres_reason()


def pytest_report_header() -> str:
    """Say which databases the suite runs against."""
    return "databases: sqlite" + (", postgresql" if _PG_REASON is None else f" ({_PG_REASON})")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a file for SQLite, a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if _PG_REASON is not None:
        if IN_CI:
            pytest.fail(f"CI is set but {_PG_REASON}")
        pytest.skip(_PG_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Yield an app on a migrated, empty database with keys in a temporary folder."""
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "DPP_KEYS_DIR": str(tmp_path / "keys"),
            "DPP_KEY_PASSPHRASE": "test-passphrase",
            "DPP_BASE_URL": "https://dpp.example.nl",
        }
    )
    with application.app_context():
        initialise(application)
    yield application
    application.extensions["passport.publisher"].close()
    application.extensions["passport.services"].sequencer.close()
    with application.app_context():
        db.engine().dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Return a CLI runner bound to the app."""
    return app.test_cli_runner()


def example(name: str) -> dict[str, Any]:
    """Return a fresh copy of `schemas/examples/{name}.json`."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return loaded


@pytest.fixture
def make_org(runner: FlaskCliRunner) -> Any:
    """Return a function that creates an organisation with roles and returns its token."""

    def make(slug: str, *roles: str) -> str:
        args = ["org", "create", slug, "--name", slug.title()]
        for role in roles:
            args += ["--role", role]
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        token = runner.invoke(args=["token", "create", slug])
        assert token.exit_code == 0, token.output
        return token.stdout.strip()

    return make


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


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}
