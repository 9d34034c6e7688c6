"""RFC 8785 (JCS) canonical JSON bytes and SRI digests of them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, cast

import orjson
import rfc8785

from passport.core.errors import InvalidInput

_MAX_SAFE_INT = 2**53 - 1


def _fast_path_ok(value: object) -> bool:
    """Tell whether orjson's sorted output is guaranteed to equal JCS for this value."""
    # Exact types only: subclasses such as StrEnum or IntEnum take the reference path.
    if type(value) is str or type(value) is bool or value is None:
        return True
    if type(value) is int:
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if type(value) is dict:
        for key, item in value.items():
            # ASCII keys sort the same by bytes (orjson) and by UTF-16 units (JCS).
            if type(key) is not str or not key.isascii() or not _fast_path_ok(item):
                return False
        return True
    if type(value) is list:
        return all(map(_fast_path_ok, value))
    return False


def refuse_floats(value: object, path: str = "$") -> None:
    """Raise InvalidInput if a float occurs anywhere in `value` (signed payloads have none)."""
    if isinstance(value, float):
        raise InvalidInput(f"signed payloads hold integers and strings only: float at {path}")
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            refuse_floats(item, f"{path}[{index}]")


def canonicalize(value: object, *, floats: bool = True) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of `value`; `floats=False` refuses floats."""
    if _fast_path_ok(value):  # the fast path admits no float, so one walk checks both
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # lone surrogates or deep nesting: let the reference implementation decide
    if not floats:
        refuse_floats(value)
    try:
        # rfc8785 itself rejects whatever is not JSON, so its narrow parameter type is moot.
        return rfc8785.dumps(cast(Any, value))
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:
        raise InvalidInput(f"value has no RFC 8785 canonical form: {exc}") from exc


def sha256_digest_sri(data: bytes) -> str:
    """Return the Subresource Integrity string `sha256-<base64>` of `data`."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
