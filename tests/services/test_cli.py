"""The command line on a real database: organisations, tokens, keys, bulk import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import EXAMPLES, bearer, example


def test_org_create_names_each_bad_field(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["org", "create", "Bad Slug", "--name", "X", "--role", "baker", "--gln", "123"]
    )
    assert result.exit_code != 0
    for field in ("slug", "role", "gln"):
        assert f"{field}:" in result.output
    ok = runner.invoke(args=["org", "create", "maker", "--name", "M", "--role", "manufacturer"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(args=["org", "create", "maker", "--name", "M", "--role", "manufacturer"])
    assert again.exit_code != 0
    assert "already taken" in again.output


def test_token_lifecycle(runner: FlaskCliRunner, client: FlaskClient, make_org: Any) -> None:
    token = make_org("maker", "manufacturer")
    assert token.startswith("dpp_")
    assert len(token) > 40
    created = runner.invoke(args=["token", "create", "maker", "--label", "erp"])
    assert created.stdout.count("\n") == 1  # only the token on stdout
    second = created.stdout.strip()
    listing = runner.invoke(args=["token", "list", "maker"]).stdout
    assert "erp" in listing
    assert token not in listing
    assert second not in listing
    assert listing.splitlines()[0].split() == ["ID", "CREATED", "STATE", "LABEL"]
    token_id = next(line.split()[0] for line in listing.splitlines() if line.endswith("erp"))
    assert runner.invoke(args=["token", "revoke", "maker", token_id]).exit_code == 0
    refused = client.post("/api/v1/passports", json=example("textile"), headers=bearer(second))
    assert refused.status_code == 401
    allowed = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert allowed.status_code == 201


def test_private_keys_are_stored_encrypted(app: Flask, make_org: Any) -> None:
    make_org("maker", "manufacturer")
    files = list((Path(app.config["DPP_KEYS_DIR"]) / "maker").glob("*.pem"))
    assert len(files) == 1
    pem = files[0].read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert files[0].stat().st_mode & 0o077 == 0
    key = serialization.load_pem_private_key(pem, password=b"test-passphrase")
    assert isinstance(key, Ed25519PrivateKey)


def test_key_import_becomes_current(
    runner: FlaskCliRunner, client: FlaskClient, make_org: Any, tmp_path: Path
) -> None:
    token = make_org("maker", "manufacturer")
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "hsm-export.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    imported = runner.invoke(args=["key", "import", "maker", str(path)])
    assert imported.exit_code == 0, imported.output
    body = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    method = body.get_json()["credential"]["proof"]["verificationMethod"]
    assert method.endswith("#" + imported.stdout.strip())
    again = runner.invoke(args=["key", "import", "maker", str(path)])
    assert again.exit_code != 0
    path.write_bytes(b"not a key")
    assert runner.invoke(args=["key", "import", "maker", str(path)]).exit_code != 0


def test_import_csv_with_progress(
    runner: FlaskCliRunner, client: FlaskClient, make_org: Any
) -> None:
    make_org("maker", "manufacturer")
    result = runner.invoke(args=["import", str(EXAMPLES / "textile.csv"), "--org", "maker"])
    assert result.exit_code == 0, result.output
    # Without a terminal click prints the progress bar's label alone, before the work: on
    # stderr, with the summary, so that stdout holds only the URIs (for a pipe).
    assert result.stderr.splitlines()[:2] == ["signing", "issued 1 passports for maker"]
    uris = result.stdout.splitlines()
    assert len(uris) == 1
    assert all(uri.startswith("https://dpp.example.nl/") for uri in uris), uris
    path = uris[0].removeprefix("https://dpp.example.nl/")
    assert client.get(f"/api/v1/passports/{path}").status_code == 200


def test_import_json_names_bad_rows(
    runner: FlaskCliRunner, make_org: Any, tmp_path: Path, client: FlaskClient
) -> None:
    make_org("maker", "manufacturer")
    rows = [example("textile") for _ in range(5)]
    rows[3]["product"]["mass_g"] = -1
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    result = runner.invoke(args=["import", str(path), "--org", "maker"])
    assert result.exit_code == 1
    assert "row 4: product.mass_g" in result.output
    assert "nothing was stored" in result.output
