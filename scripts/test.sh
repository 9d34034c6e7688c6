#!/usr/bin/env bash
# Install everything and run the whole suite: lint, types, tests (PostgreSQL too when reachable;
# with CI=true the PostgreSQL tests fail instead of skipping when it is not).
EXTRAS="dev" source "$(dirname "$0")/_venv.sh"
echo "== ruff" >&2
.venv/bin/ruff check passport tests scripts
.venv/bin/ruff format --check passport tests scripts
echo "== mypy --strict" >&2
.venv/bin/mypy passport
echo "== pytest" >&2
exec .venv/bin/python -m pytest "$@"
