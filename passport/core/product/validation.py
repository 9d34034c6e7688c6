"""JSON Schema validation as the service applies it: integers only (no floats), ECMA-262
patterns, dates that exist, and errors keyed by the dotted path of each field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource

UNKNOWN = "unknown field: not in the schema"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_int(_checker: object, instance: object) -> bool:
    # Signed payloads carry no floats: 80.0 is refused, and so is True (a bool is an int).
    return type(instance) is int


def _is_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return bool(_DATE.fullmatch(instance)) and bool(date.fromisoformat(instance))


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # ECMA-262 `$` ends the string; Python's also matches before a final newline.
    return re.compile(re.sub(r"(?<!\\)\$$", r"\\Z", pattern))


def _pattern(_v: object, pattern: str, instance: object, _s: object) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date", raises=ValueError)(_is_date)
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_int, "number": _is_int})
_KEYWORDS = {"pattern": _pattern}
Validator = validators.extend(Draft202012Validator, _KEYWORDS, type_checker=_TYPES)

Errors = dict[str, list[str]]
CodeRule = Callable[[dict[str, Any], Errors], None]


def add_error(errors: Errors, path: str, message: str) -> None:
    """Add `message` under `path`, once."""
    if message not in (msgs := errors.setdefault(path, [])):
        msgs.append(message)


def schema_errors(validator: Any, data: object, errors: Errors, root: str) -> None:
    """Add the errors `validator` finds in `data`, each under its field's dotted path."""
    for error in validator.iter_errors(data):
        path = ".".join([root, *(str(p) for p in error.absolute_path)])
        kind = error.validator
        if kind == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    add_error(errors, f"{path}.{name}", "is required")
        elif kind == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            patterns = [_regex(p) for p in error.schema.get("patternProperties", {})]
            for name in error.instance:
                if name not in known and not any(p.search(name) for p in patterns):
                    add_error(errors, f"{path}.{name}", UNKNOWN)
        elif kind == "type":
            got = type(error.instance).__name__
            add_error(errors, path, f"must be of type {error.validator_value}, got {got}")
        else:
            add_error(errors, path, error.message)


@dataclass(frozen=True, slots=True)
class Validators:
    """A schema's two validators: `fast` (compiled, Rust) decides validity, `python` explains a
    refusal field by field."""

    fast: Any
    python: Any


def validators_for(schema: Mapping[str, Any], shared: Mapping[str, Any] | None) -> Validators:
    """Build both validators of `schema`; `shared` is a schema it refers to by `$id`."""
    check_schema(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    registry = _registry(shared)
    return Validators(
        fast=jsonschema_rs.Draft202012Validator(
            dict(schema), validate_formats=True, registry=registry.fast
        ),
        python=Validator(dict(schema), format_checker=_FORMATS, registry=registry.python),
    )


@dataclass(frozen=True, slots=True)
class _Registry:
    fast: Any
    python: Registry[Any]


def _registry(shared: Mapping[str, Any] | None) -> _Registry:
    """The schemas other schemas refer to by `$id`, for both validators."""
    if shared is None:
        return _Registry(fast=None, python=Registry())
    uri = shared["$id"]
    return _Registry(
        fast=jsonschema_rs.Registry([(uri, dict(shared))]),
        python=Registry().with_resource(uri, Resource.from_contents(dict(shared))),
    )


@cache
def check_schema(text: bytes) -> None:
    """Refuse a schema that is not valid JSON Schema 2020-12; each distinct schema is checked
    once per process (the check walks the meta-schema: about 0.1 s, paid by every app made)."""
    Draft202012Validator.check_schema(orjson.loads(text))
