"""RFC 8785 (JCS) canonical JSON bytes and SRI digests of them."""

from __future__ import annotations

from typing import Any, cast

import orjson
import rfc8785

from passport.core.errors import InvalidInput

_MAX_SAFE_INT = 2**53 - 1


def fast_path_ok(value: object) -> bool:
    """Tell whether orjson's sorted output is guaranteed to equal JCS for this value.

    True when every key is an ASCII string (they sort the same by bytes, as orjson does, and
    by UTF-16 units, as JCS does) and every scalar is a string, a bool, None or an integer
    JSON numbers represent exactly. Exact types only: subclasses such as StrEnum or IntEnum
    take the reference path. One iterative walk with scalars checked inline: the audit runs
    it once per logged credential.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            for key, child in item.items():  # type: ignore[attr-defined]
                if type(key) is not str or not key.isascii():
                    return False
                child_kind = type(child)
                if child_kind is str or child_kind is bool or child is None:
                    continue
                if child_kind is int:
                    if not -_MAX_SAFE_INT <= child <= _MAX_SAFE_INT:
                        return False
                    continue
                pending.append(child)
        elif kind is list:
            pending.extend(item)  # type: ignore[arg-type]
        elif kind is int:
            if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:  # type: ignore[operator]
                return False
        elif not (kind is str or kind is bool or item is None):
            return False
    return True


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


def sorted_json(value: object) -> bytes:
    """Return orjson's sorted-key bytes: JCS itself for a value `fast_path_ok` accepted."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonicalize(value: object, *, floats: bool = True) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of `value`; `floats=False` refuses floats."""
    return canonicalize_known(value, fast=fast_path_ok(value), floats=floats)


def canonicalize_known(value: object, *, fast: bool, floats: bool = True) -> bytes:
    """`canonicalize` for a caller that already knows `fast_path_ok(value)`: a signer that
    walked a document once canonicalises it, and then the document with its proof added, on
    that one answer."""
    if fast:  # the fast path admits no float, so one walk checks both
        try:
            return sorted_json(value)
        except orjson.JSONEncodeError:
            pass  # lone surrogates or deep nesting: let the reference implementation decide
    if not floats:
        refuse_floats(value)
    try:
        # rfc8785 itself rejects whatever is not JSON, so its narrow parameter type is moot.
        return rfc8785.dumps(cast(Any, value))
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:
        raise InvalidInput(f"value has no RFC 8785 canonical form: {exc}") from exc
