"""Offline bundles: `dpp verify` with only the pinned log key; any changed byte fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.cli.ledger import verify_command
from passport.core.lifecycle.bundle import BundleInvalid, verify_bundle, verify_bundle_bytes
from tests.helpers import bearer, example


@pytest.fixture
def bundled(client: FlaskClient, runner: FlaskCliRunner, make_org: Any) -> dict[str, Any]:
    """A corrected passport; its bundle fetched by an auditor and anonymously; the log key."""
    maker = make_org("maker", "manufacturer")
    auditor = make_org("audit", "auditor")
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    passport_id = issued.get_json()["id"]
    product = example("textile")["product"]
    product["name"] = "Corrected"
    assert (
        client.post(
            f"/api/v1/passports/{passport_id}/versions",
            json={"product": product},
            headers=bearer(maker),
        ).status_code
        == 201
    )
    url = f"/api/v1/passports/{passport_id}/bundle"
    return {
        "auditor": client.get(url, headers=bearer(auditor)).get_data(),
        "anonymous": client.get(url).get_data(),
        "log_key": runner.invoke(args=["log-key"]).stdout.strip(),
    }


def verify_cli(path: Path, log_key: str) -> Any:
    return CliRunner().invoke(verify_command, [str(path), "--log-key", log_key])


def test_bundles_verify_offline(bundled: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(bundled["auditor"])
    result = verify_cli(path, bundled["log_key"])
    assert result.exit_code == 0, result.output
    assert "2 version(s)" in result.output
    assert "authority, legitimate_interest" in result.output
    history = verify_bundle(json.loads(bundled["anonymous"]), log_key=bundled["log_key"])
    assert history.restricted_tiers == frozenset()
    assert len(history.versions) == 2


def test_wrong_log_key_fails_at_the_checkpoint(bundled: dict[str, Any], tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from passport.core.log.note import verifier_key

    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    path = tmp_path / "bundle.json"
    path.write_bytes(bundled["auditor"])
    result = verify_cli(path, verifier_key("dpp.example.nl/ledger", other))
    assert result.exit_code == 1
    assert "step 2 checkpoint signature" in result.output


def test_dropping_a_version_breaks_the_chain(bundled: dict[str, Any]) -> None:
    bundle = json.loads(bundled["auditor"])
    first_version = next(e for e in bundle["entries"] if '"passport:issued"' in e["entry"])
    bundle["entries"].remove(first_version)
    bundle["restricted"] = [r for r in bundle["restricted"] if r["index"] != first_version["index"]]
    with pytest.raises(BundleInvalid) as caught:
        verify_bundle(bundle, log_key=bundled["log_key"])
    assert caught.value.step == "7 chain of versions and events"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_changed_byte_fails(data: st.DataObject, bundled: dict[str, Any]) -> None:
    raw = bundled["auditor"]
    position = data.draw(st.integers(0, len(raw) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]))
    changed = raw[:position] + bytes([replacement]) + raw[position + 1 :]
    with pytest.raises(BundleInvalid):
        verify_bundle_bytes(changed, log_key=bundled["log_key"])


def test_verify_needs_no_database_or_network(tmp_path: Path, bundled: dict[str, Any]) -> None:
    """`dpp verify` in a bare folder with a database URL that cannot work still verifies."""
    path = tmp_path / "bundle.json"
    path.write_bytes(bundled["auditor"])
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "DPP_KEYS_DIR": str(tmp_path / "no-keys"),
    }
    dpp = Path(sys.executable).with_name("dpp")
    result = subprocess.run(
        [str(dpp), "verify", str(path), "--log-key", bundled["log_key"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("verified:")
    assert not (tmp_path / "no-keys").exists()
