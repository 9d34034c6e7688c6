#!/usr/bin/env bash
# Install (only when requirements.lock or pyproject.toml changed) and run the service on SQLite
# with demo data (URL and tokens are printed). Extra arguments go to `dpp serve`,
# e.g. `scripts/serve.sh --port 8080`.
EXTRAS="" source "$(dirname "$0")/_venv.sh"
exec .venv/bin/dpp serve --demo "$@"
