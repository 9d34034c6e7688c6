"""Strict JSON for untrusted input: explicit limits on nesting depth and integer size.

Every JSON body the service reads (the API's request bodies, single and bulk, and the files of
`dpp import`) goes through `loads`, so that a hostile document is refused with a problem naming
the limit instead of exhausting the stack (`RecursionError`) or Python's int-string conversion
limit (`ValueError`).

- **Depth**: at most `MAX_JSON_DEPTH` (64) nested arrays and objects; a passport needs about 5.
- **Integers**: at most `MAX_JSON_INTEGER` (2**53 - 1) in magnitude, the interoperable range
  of I-JSON (RFC 7493 §2.2); masses are grams and shares percent, so it is ample. Integers
  outside it are refused even where a schema would have refused them anyway.

The text is parsed by orjson (strict RFC 8259: no NaN or Infinity, no lone surrogates, UTF-8
only, at most 1024 levels), the result walked without recursion for the two limits. orjson
turns integers beyond 64 bits into floats, so a document that holds any float is parsed again
by the standard library with an integer hook that sees each integer's digits before converting
them (safe, since its depth is known to be within the limit by then).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from passport.core.errors import InvalidInput

MAX_JSON_DEPTH = 64
MAX_JSON_INTEGER = 2**53 - 1
_MAX_DIGITS = len(str(MAX_JSON_INTEGER))

DEPTH_MESSAGE = f"nested deeper than the limit of {MAX_JSON_DEPTH} levels (max_json_depth)"
INTEGER_MESSAGE = f"integer beyond the limit of ±{MAX_JSON_INTEGER} (2**53 - 1, max_json_integer)"


class LimitExceeded(InvalidInput):
    """The JSON body breaks a limit of this service: nested deeper than 64 levels
    (max_json_depth), or an integer beyond ±9007199254740991 (2**53 - 1, max_json_integer)."""

    code = "limit-exceeded"
    title = "Input beyond a limit"


def loads(text: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON `text` within the limits.

    Raises `json.JSONDecodeError` (a ValueError) for text that is not JSON and
    `LimitExceeded` (not a ValueError, so no caller mistakes it for bad syntax) for JSON
    beyond a limit.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):  # orjson's own limit, 1024
            raise _too_deep() from None
        if str(exc).startswith("number is infinity"):  # a float or integer over 1.8e308
            _reparse(text)
        raise
    if not _within(value):
        value = _reparse(text)
    return value


def _reparse(text: bytes | bytearray | memoryview | str) -> Any:
    """Parse again, seeing each number's text; a huge integer becomes a marker the walk refuses."""
    if isinstance(text, memoryview):
        text = bytes(text)
    try:
        value = json.loads(
            text, parse_int=_bounded_int, parse_float=_finite, parse_constant=_no_constant
        )
    except RecursionError:  # only reached when orjson stopped early, at a huge number
        raise _too_deep() from None
    _within(value, floats_checked=True)
    return value


def _within(value: Any, *, floats_checked: bool = False) -> bool:
    """Check depth and integers; return False if a float may hide a huge integer."""
    floats = False
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack += [(v, depth + 1, f"{path}.{k}" if path else k) for k, v in item.items()]
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack += [(v, depth + 1, f"{path}.{n}" if path else str(n)) for n, v in enumerate(item)]
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not -MAX_JSON_INTEGER <= item <= MAX_JSON_INTEGER:
                raise LimitExceeded(
                    f"an integer in the JSON body is beyond the limit of ±{MAX_JSON_INTEGER}",
                    errors={path or "body": [INTEGER_MESSAGE]},
                )
        elif isinstance(item, float):
            floats = True
        elif isinstance(item, _Huge):
            raise LimitExceeded(
                f"an integer in the JSON body is beyond the limit of ±{MAX_JSON_INTEGER}",
                errors={path or "body": [INTEGER_MESSAGE]},
            )
    return floats_checked or not floats


class _Huge:
    """Stands in for an integer too long to convert; the walk refuses it, naming its path."""


def _bounded_int(digits: str) -> int | _Huge:
    """The standard library's integer hook: never convert a long integer."""
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        return _Huge()
    return int(digits)  # at most 16 digits: the walk checks the exact bound


def _finite(digits: str) -> float:
    number = float(digits)
    if number in (float("inf"), float("-inf")):
        raise json.JSONDecodeError("number is infinity when parsed as double", digits, 0)
    return number


def _no_constant(name: str) -> float:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _too_deep() -> LimitExceeded:
    return LimitExceeded(
        f"the JSON body is nested deeper than the limit of {MAX_JSON_DEPTH} levels",
        errors={"body": [DEPTH_MESSAGE]},
    )
