"""Fixtures: a fresh database per test on SQLite, and on PostgreSQL when it is reachable.

Plain helpers and constants live in tests/helpers.py; import them from there, not from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from passport import create_app
from passport.instance import initialise
from passport.store import db
from tests.helpers import (
    ALL_DATABASES,
    PG_ADMIN_URL,
    PG_REASON,
    Templates,
    admin_sql,
    bearer,
    build_app,
    close_app,
    create_org,
    example,
    require_postgres,
)


def pytest_report_header() -> str:
    """Say which databases the suite runs against."""
    return "databases: sqlite" + (", postgresql" if PG_REASON is None else f" ({PG_REASON})")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a file for SQLite, a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    http_tests = [Path(__file__).parent / name for name in ("api", "web")]
    if not ALL_DATABASES and any(request.path.is_relative_to(top) for top in http_tests):
        pytest.skip("API and web tests run on PostgreSQL with CI=true or DPP_TEST_ALL_DATABASES=1")
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Yield an app on a migrated database with keys in `tmp_path / "keys"`."""
    application = build_app(database_url, tmp_path / "keys")
    with application.app_context():
        initialise(application)
    yield application
    close_app(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Return a CLI runner bound to the app."""
    return app.test_cli_runner()


@pytest.fixture
def make_org(runner: FlaskCliRunner) -> Callable[..., str]:
    """Return a function that creates an organisation with roles and returns its token."""

    def make(slug: str, *roles: str) -> str:
        return create_org(runner, slug, *roles)

    return make


@pytest.fixture
def maker(make_org: Callable[..., str]) -> str:
    """The token of organisation `maker`, a manufacturer."""
    return make_org("maker", "manufacturer")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """The session's populated template databases."""
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    made.close()


@pytest.fixture
def fuzz_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on SQLite with one manufacturer passport, for schemathesis and hostile input.

    `FUZZ_TOKEN` in its config is the manufacturer's token, `FUZZ_PASSPORT` the passport's id.
    """
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.db'}",
            "DPP_KEYS_DIR": str(tmp_path / "keys"),
            "DPP_KEY_PASSPHRASE": "fuzz",
            "DPP_BASE_URL": "https://dpp.example.nl",
        }
    )
    with app.app_context():
        initialise(app)
    app.config["FUZZ_TOKEN"] = create_org(app.test_cli_runner(), "maker", "manufacturer")
    issued = app.test_client().post(
        "/api/v1/passports", json=example("textile"), headers=bearer(app.config["FUZZ_TOKEN"])
    )
    # A bad token would answer every write a documented 401 and the fuzz run would pass.
    assert issued.status_code == 201, issued.get_json()
    app.config["FUZZ_PASSPORT"] = issued.get_json()["id"]
    yield app
    app.extensions["passport.publisher"].close()
    app.extensions["passport.services"].sequencer.close()
    with app.app_context():
        db.engine().dispose()
