"""The built wheel works on its own, the way a deployment installs it.

What this proves:

- the wheel holds every file under `passport/` and the whole `schemas/` folder (JSON Schemas,
  JSON-LD context, examples, OpenAPI document) as the package `passport.schemas`, and the
  Dutch message catalogue compiled by the build from its `.po` source;
- installed (not editable) into a fresh virtual environment, with the dependencies pinned by
  `requirements.lock`, and run from a folder outside the repository with no source tree on the
  path (`passport.__file__` is inside that environment): `dpp --help` lists the commands,
  `dpp init` migrates a fresh SQLite database and makes the log key, and the installed code
  creates an organisation and a token with its CLI and issues the example textile passport (read
  from the installed package with importlib.resources) with a 201;
- `dpp serve --demo` from the installed wheel starts and serves `/api/v1/openapi.json`.

About 20 s (pip's cache warm; building the wheel needs setuptools from the index or the cache),
so it is not marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run by the fresh environment's Python: the installed code issues a passport.
ISSUE = r"""
import json
import sys
from importlib.resources import files

import passport
from passport import create_app

app = create_app(json.loads(sys.argv[1]))
try:
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "org", "create", "wheel-weverij", "--name", "Wheel", "--role", "manufacturer",
            "--gcp", "8712345",
        ]
    )
    assert made.exit_code == 0, made.output
    token = runner.invoke(args=["token", "create", "wheel-weverij"])
    assert token.exit_code == 0, token.output
    body = json.loads((files("passport.schemas") / "examples" / "textile.json").read_text("utf-8"))
    answer = app.test_client().post(
        "/api/v1/passports",
        json=body,
        headers={"Authorization": "Bearer " + token.stdout.strip()},
    )
    print(json.dumps({"file": passport.__file__, "status": answer.status_code,
                      "body": answer.get_json()}))
finally:
    app.extensions["passport.publisher"].close()
    app.extensions["passport.services"].sequencer.close()
"""


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with the wheel installed, and a work folder outside the repo."""

    src: Path
    wheel: Path
    venv: Path
    work: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Return an environment with no trace of the repository's virtual environment."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return {**env, **extra}

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the work folder; fail the test with its output when it fails."""
        done = subprocess.run(
            args, cwd=self.work, env=self.env(**extra), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a copy of the sources and install it into a fresh environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    # A clean copy, so no build/ or egg-info left in the working tree can leak into the wheel.
    src = tmp / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("passport", "schemas"):
        shutil.copytree(ROOT / folder, src / folder, ignore=skip)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for compiled in (src / "passport").rglob("*.mo"):  # the build must make them itself
        compiled.unlink()
    quiet = ["--quiet", "--disable-pip-version-check"]
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", *quiet, "--no-deps", "-w", str(tmp / "dist"), str(src)], check=True
    )
    (wheel,) = (tmp / "dist").glob("passport_ledger-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            *pip,
            "--python",
            str(python),
            "install",
            *quiet,
            "-c",
            str(ROOT / "requirements.lock"),
            str(wheel),
        ],
        check=True,
    )
    work = tmp / "work"
    work.mkdir()
    return Installed(src=src, wheel=wheel, venv=venv, work=work)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def test_wheel_holds_the_package_and_the_schemas(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    src = installed.src  # the copy the wheel was built from
    wanted = {_relative(path, src) for path in (src / "passport").rglob("*") if path.is_file()}
    wanted |= {
        "passport/schemas/" + _relative(path, src / "schemas")
        for path in (src / "schemas").rglob("*")
        if path.is_file()
    }
    assert "passport/schemas/contexts/dpp-v1.jsonld" in wanted
    assert wanted <= names, f"missing from the wheel: {sorted(wanted - names)}"
    # The Dutch catalogue is compiled by the build (setup.py), from the .po source only.
    assert "passport/web/translations/nl/LC_MESSAGES/messages.mo" in names
    assert "passport/web/templates/passport.html" in names
    assert "passport/web/static/verify.js" in names


def test_installed_wheel_initialises_and_issues(installed: Installed) -> None:
    tmp = installed.work
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp / 'issue.db'}",
        "DPP_KEYS_DIR": str(tmp / "keys"),
        "DPP_KEY_PASSPHRASE": "wheel-test",
    }
    bin_dir = installed.venv / "bin"
    helped = installed.run(str(bin_dir / "dpp"), "--help")
    for command in ("init", "serve", "org", "token", "audit", "verify"):
        assert f"  {command} " in helped.stdout, helped.stdout
    installed.run(str(bin_dir / "dpp"), "init", **settings)
    assert (tmp / "issue.db").exists()
    done = installed.run(
        str(bin_dir / "python"), "-c", ISSUE, json.dumps({"TESTING": True, **settings})
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    module = Path(result["file"]).resolve()
    assert module.is_relative_to(installed.venv.resolve()), module
    assert not module.is_relative_to(ROOT), module
    assert result["status"] == 201, result["body"]
    assert result["body"]["id"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_installed_wheel_serves_the_demo(installed: Installed) -> None:
    tmp = installed.work / "serve"
    tmp.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = installed.env(
        DATABASE_URL=f"sqlite:///{tmp / 'demo.db'}",
        DPP_KEYS_DIR=str(tmp / "keys"),
        DPP_KEY_PASSPHRASE="wheel-serve",
        DPP_BASE_URL=base,
    )
    dpp = installed.venv / "bin" / "dpp"
    with (tmp / "serve.log").open("w+") as log:
        proc = subprocess.Popen(
            [str(dpp), "serve", "--demo", "--port", str(port), "--workers", "1"],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            status = None
            while status != 200:
                try:
                    with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2) as answer:
                        status = answer.status
                except (urllib.error.URLError, ConnectionError):
                    pass
                if status != 200:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"dpp serve --demo did not answer 200:\n{log.read()}")
                    time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        log.seek(0)
        assert f"Demo service at {base}" in log.read()
