"""Layer rules: the core imports no framework; modules stay small."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

FORBIDDEN_IN_CORE = {
    "flask",
    "flask_smorest",
    "sqlmodel",
    "sqlalchemy",
    "marshmallow",
    "qrcode",
    "alembic",
    "werkzeug",
    "psycopg",
    "gunicorn",
    "click",
    "passport.services",
    "passport.api",
    "passport.web",
    "passport.db",
    "passport.tables",
    "passport.config",
}


def _imports(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_framework() -> None:
    core = sorted((ROOT / "passport" / "core").glob("*.py"))
    assert len(core) > 5
    for path in core:
        for name in _imports(str(path.relative_to(ROOT))):
            for banned in FORBIDDEN_IN_CORE:
                assert name.split(".")[: banned.count(".") + 1] != banned.split("."), (path, name)


def test_core_reads_no_clock_files_or_environment() -> None:
    for path in sorted((ROOT / "passport" / "core").glob("*.py")):
        text = path.read_text("utf-8")
        for call in (
            "datetime.now(",
            "date.today(",
            "time.time(",
            "open(",
            "os.environ",
            "getenv(",
        ):
            assert call not in text, (path.name, call)


def test_no_module_much_over_300_lines() -> None:
    for path in sorted((ROOT / "passport").rglob("*.py")):
        lines = len(path.read_text("utf-8").splitlines())
        assert lines <= 330, f"{path.relative_to(ROOT)} has {lines} lines"
