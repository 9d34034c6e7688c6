"""The outsider's verifier lives in scripts/verify_credential.py; the tests load it from there."""

from __future__ import annotations

import importlib.util

from tests.helpers import ROOT

_spec = importlib.util.spec_from_file_location(
    "verify_credential", ROOT / "scripts" / "verify_credential.py"
)
assert _spec is not None
assert _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

VerificationFailed = _module.VerificationFailed
verify = _module.verify
