#!/usr/bin/env bash
# Install with the dev extras (only when requirements.lock or pyproject.toml changed) and run the
# whole suite: lint, format, types, import contracts, tests (PostgreSQL too when reachable; with
# CI=true the PostgreSQL tests fail instead of skipping when it is not). Extra arguments go to
# pytest.
#
# Tests run on two processes (pytest-xdist), one a core of the machines this is made on; with
# CI=true they run in one, as the slow trials run in full there and their timing matters.
# DPP_TEST_WORKERS=N chooses (0: one process).
EXTRAS="dev" source "$(dirname "$0")/_venv.sh"
echo "== ruff" >&2
.venv/bin/ruff check passport tests scripts
.venv/bin/ruff format --check passport tests scripts
echo "== mypy --strict" >&2
.venv/bin/mypy passport
echo "== import-linter" >&2
.venv/bin/lint-imports
echo "== pytest" >&2
workers="${DPP_TEST_WORKERS:-}"
if [ -z "$workers" ]; then
  if [ "${CI:-}" = "true" ]; then workers=0; else workers=2; fi
fi
parallel=()
[ "$workers" != "0" ] && parallel=(-n "$workers")
exec .venv/bin/python -m pytest "${parallel[@]}" "$@"
