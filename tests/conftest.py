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

from passport.instance import initialise
from tests.helpers import (
    PG_ADMIN_URL,
    PG_REASON,
    Templates,
    admin_sql,
    build_app,
    close_app,
    create_org,
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
