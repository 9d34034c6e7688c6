"""One identity per instance: the base URL stored at `dpp init` is the only one ever used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskCliRunner

from passport import create_app
from passport.cli import dpp
from passport.instance import IdentityMismatch, initialise, stored_base_url
from passport.store import db
from tests.helpers import BASE_URL, PASSPHRASE, close_app, create_org, example, run_audit, value

WRONG = "http://127.0.0.1:5000"


def settings(app: Flask, **more: Any) -> dict[str, Any]:
    """The settings of `app` an operator's other command would run with."""
    return {
        "TESTING": True,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "DPP_KEYS_DIR": app.config["DPP_KEYS_DIR"],
        "DPP_KEY_PASSPHRASE": PASSPHRASE,
        **more,
    }


@pytest.fixture
def other_command(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run a `dpp` command as a separate process would: a new app built from its settings."""
    monkeypatch.delenv("DPP_BASE_URL", raising=False)
    built: list[Flask] = []

    def run(args: list[str], **config: Any) -> Any:
        def factory() -> Flask:
            built.append(create_app(settings(app, **config)))
            return built[-1]

        return CliRunner().invoke(dpp, args, obj=ScriptInfo(create_app=factory))

    yield run
    for made in built:
        close_app(made)


def written(app: Flask) -> tuple[int, int, int, list[str]]:
    """What a write would change: the log, organisations, keys and key files."""
    return (
        int(value(app, "SELECT size FROM ledger_head")),
        int(value(app, "SELECT count(*) FROM organisation")),
        int(value(app, "SELECT count(*) FROM org_key")),
        sorted(str(p) for p in Path(app.config["DPP_KEYS_DIR"]).rglob("*")),
    )


def test_initialise_stores_the_base_url(app: Flask) -> None:
    assert stored_base_url(db.engine_of(app)) == BASE_URL


def test_every_writing_command_refuses_another_base_url(
    app: Flask, runner: FlaskCliRunner, other_command: Any, tmp_path: Path
) -> None:
    create_org(runner, "maker", "manufacturer")
    key_id = runner.invoke(args=["key", "list", "maker"]).stdout.splitlines()[1].split()[0]
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([example("textile")]))
    before = written(app)
    for args in (
        ["org", "create", "other", "--name", "O", "--role", "manufacturer", "--gcp", "8712345"],
        ["import", str(rows), "--org", "maker"],
        ["key", "rotate", "maker"],
        ["key", "revoke", "maker", key_id],
        ["token", "create", "maker"],
        ["init"],
        ["log-key"],
    ):
        result = other_command(args, DPP_BASE_URL=WRONG)
        assert result.exit_code == 1, (args, result.output)
        assert f"DPP_BASE_URL is {WRONG} but this instance's base URL is {BASE_URL}" in (
            result.output
        ), args
        assert written(app) == before, args
    assert run_audit(runner).exit_code == 0


def test_serve_refuses_another_base_url(
    app: Flask, monkeypatch: pytest.MonkeyPatch, runner: FlaskCliRunner
) -> None:
    for name, setting in settings(app).items():
        if name.startswith(("DATABASE", "DPP")):
            monkeypatch.setenv(name, setting)
    monkeypatch.setenv("DPP_BASE_URL", WRONG)
    result = CliRunner().invoke(dpp, ["serve", "--port", "5999"], obj=ScriptInfo())
    assert result.exit_code == 1
    assert f"this instance's base URL is {BASE_URL}" in result.output


def test_without_dpp_base_url_the_stored_one_is_used(
    app: Flask, runner: FlaskCliRunner, other_command: Any
) -> None:
    """Before: `dpp key rotate` without DPP_BASE_URL logged a key under another DID host,
    exited 0, and from then on `dpp audit` failed."""
    create_org(runner, "maker", "manufacturer")
    rotated = other_command(["key", "rotate", "maker"])
    assert rotated.exit_code == 0, rotated.output
    listed = other_command(["key", "list", "maker"]).stdout
    assert "did:web:dpp.example.nl:orgs:maker#" in listed
    log_key = other_command(["log-key"]).stdout.strip()
    assert log_key == runner.invoke(args=["log-key"]).stdout.strip()
    assert log_key.startswith("dpp.example.nl/ledger+")
    assert run_audit(runner).exit_code == 0


def test_a_base_url_is_compared_in_normal_form(app: Flask, other_command: Any) -> None:
    listed = other_command(["org", "list"], DPP_BASE_URL="HTTPS://DPP.example.nl/")
    assert listed.exit_code == 0, listed.output


def test_an_old_log_refuses_a_base_url_it_was_not_made_under(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """A 0.1.0 database has no stored base URL; its log's DIDs decide which one it may get."""
    create_org(runner, "maker", "manufacturer")
    with app.app_context(), db.engine().begin() as conn:
        conn.exec_driver_sql("DELETE FROM instance")
    moved = create_app(settings(app, DPP_BASE_URL=WRONG))
    try:
        with moved.app_context(), pytest.raises(IdentityMismatch, match="already names"):
            initialise(moved)
        assert stored_base_url(db.engine_of(app)) is None
    finally:
        close_app(moved)
    again = create_app(settings(app, DPP_BASE_URL=BASE_URL))
    try:
        with again.app_context():
            initialise(again)
    finally:
        close_app(again)
    assert stored_base_url(db.engine_of(app)) == BASE_URL


def test_a_new_database_stores_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DPP_BASE_URL", raising=False)
    fresh = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
            "DPP_KEYS_DIR": str(tmp_path / "keys"),
            "DPP_KEY_PASSPHRASE": PASSPHRASE,
        }
    )
    try:
        assert fresh.config["DPP_BASE_URL_STORED"] is False
        with fresh.app_context():
            initialise(fresh)
        assert stored_base_url(db.engine_of(fresh)) == "http://127.0.0.1:5000"
    finally:
        close_app(fresh)
