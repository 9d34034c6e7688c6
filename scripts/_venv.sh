# Sourced by the scripts: make .venv with a Python >= 3.11 and install the project into it, with the
# extras in $EXTRAS (comma-separated), pinned by requirements.lock.
#
# pip runs only when needed: .venv/.dpp-install-stamp holds a hash of requirements.lock,
# pyproject.toml, setup.py and the message catalogues (installing compiles them) (first line)
# and the extras installed with them (one a line). When the hash
# matches and every wanted extra is listed, pip is skipped; otherwise the project is installed
# again and the stamp rewritten. DPP_REINSTALL=1 forces an install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-}"
LOCK=requirements.lock
STAMP=.venv/.dpp-install-stamp
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: need Python 3.11 or newer as \$PYTHON or python3 (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
  fi
  echo "creating .venv with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv .venv
fi

wanted_hash="$(.venv/bin/python -c '
import hashlib, sys
digest = hashlib.sha256()
for name in sys.argv[1:]:
    with open(name, "rb") as handle:
        digest.update(hashlib.sha256(handle.read()).digest())
print(digest.hexdigest())
' "$LOCK" pyproject.toml setup.py passport/web/translations/*/LC_MESSAGES/messages.po)"

_stamp_matches() {
  [ -f "$STAMP" ] || return 1
  [ "$(head -n 1 "$STAMP")" = "$wanted_hash" ] || return 1
  local extra
  for extra in ${EXTRAS//,/ }; do
    tail -n +2 "$STAMP" | grep -qxF "$extra" || return 1
  done
}

if [ -z "${DPP_REINSTALL:-}" ] && _stamp_matches; then
  echo "dependencies up to date (${STAMP} matches ${LOCK} and pyproject.toml)" >&2
else
  echo "installing the project and its dependencies into .venv from ${LOCK} …" >&2
  rm -f "$STAMP"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  target="."
  [ -n "$EXTRAS" ] && target=".[${EXTRAS}]"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c "$LOCK" -e "$target" >&2
  { echo "$wanted_hash"; for extra in ${EXTRAS//,/ }; do echo "$extra"; done; } > "$STAMP"
fi
