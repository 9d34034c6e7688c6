#!/usr/bin/env bash
# Install with the dev extras (only when requirements.lock or pyproject.toml changed) and run the
# whole suite: lint, format, types, import contracts, tests (PostgreSQL too when reachable; with
# CI=true the PostgreSQL tests fail instead of skipping when it is not). Extra arguments go to
# pytest.
EXTRAS="dev" source "$(dirname "$0")/_venv.sh"
echo "== ruff" >&2
.venv/bin/ruff check passport tests scripts
.venv/bin/ruff format --check passport tests scripts
echo "== mypy --strict" >&2
.venv/bin/mypy passport
echo "== import-linter" >&2
.venv/bin/lint-imports
echo "== pytest" >&2
exec .venv/bin/python -m pytest "$@"
