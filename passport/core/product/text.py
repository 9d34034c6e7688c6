"""Text that is signed as sent: what a string in product data may hold.

A credential is read by people, so every character of a signed string must be visible for what
it is. In every string of product data (at any depth) the validation refuses:

- control characters (C0, DEL, C1 such as NUL or U+0085) other than tab and the line breaks below;
- bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which can
  make text display in another order than it is signed;
- zero-width characters (U+200B-U+200D, U+2060, U+FEFF), which hide text or make two strings
  that look the same differ;
- the Unicode line and paragraph separators (U+2028, U+2029) and lone surrogates.

Line breaks (LF, or CR LF) are allowed only in free text, where a paragraph is natural: the
values of language-keyed text (objects whose keys are ISO 639-1 codes, e.g.
`care_instructions.text.en`, `repair_information.instructions.nl`, the disassembly steps,
`end_of_life_instructions.en`, `take_back_scheme.conditions.en`) and fields named
`description` or `note` (an event's note). Everything else (names, materials, addresses,
identifiers …) is one line. A lone CR is never allowed. The schemas mark no field as
multi-line, so this rule is stated here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MULTILINE_NAMES = frozenset({"description", "note"})

_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029"
    "\u2060\u2066-\u2069\ufeff\ud800-\udfff]"
)
_LINE_BREAK = re.compile("\r\n|\n")
_LINE = re.compile("[\r\n]")

AddError = Callable[[str, str], None]


def _name(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    return f"{code} ({name})" if name else code


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Return why `value` may not be signed, or None when it may."""
    rest = _LINE_BREAK.sub("", value) if multiline else value
    if (line := _LINE.search(rest)) is not None and not multiline:
        return f"holds a line break ({_name(line.group())}); this field is one line"
    hidden = _HIDDEN.search(rest)
    if hidden is not None:
        return (
            f"holds {_name(hidden.group())} at position {value.index(hidden.group())}: "
            "control, bidirectional and zero-width characters are refused"
        )
    return None


def check_text(schema: Mapping[str, Any], value: object, path: str, add: AddError) -> bool:
    """Report, through `add(path, message)`, every string under `value` that breaks the rule.

    Return whether a float occurs anywhere under `value`: JSON Schema counts 80.0 as an
    integer and signed payloads hold none, so the validation learns it on this same walk.
    """
    return _walk(schema, value, path, add, multiline=False)


_NOTHING: Mapping[str, Any] = {}


def _walk(
    schema: Mapping[str, Any], value: object, path: str, add: AddError, *, multiline: bool
) -> bool:
    """Walk containers; strings and numbers directly inside one are judged in its loop (most
    nodes are leaves, and a call per leaf is most of the cost of a walk)."""
    if isinstance(value, dict):
        known = schema.get("properties", _NOTHING)
        keyed = schema.get("patternProperties", _NOTHING)
        items: Mapping[str, Any] | None = None
        pairs: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        items = schema.get("items", _NOTHING)
        known, keyed = _NOTHING, _NOTHING
        items = items if isinstance(items, dict) else _NOTHING
        pairs = enumerate(value)
    else:
        return _leaf(value, path, add, multiline=multiline)
    floats = False
    for key, item in pairs:
        kind = type(item)
        if kind is int or kind is bool or item is None:
            continue
        if kind is str and item.isprintable():  # type: ignore[attr-defined]
            continue  # printable text holds none of the refused characters nor a line break
        if items is not None:
            child, line = items, False
        elif (child := known.get(key)) is not None:
            line = key in MULTILINE_NAMES
        else:
            pattern = next((p for p in keyed if re.search(p, str(key))), None)
            # Language-keyed text is prose; an unknown key is refused by the schema anyway.
            child = keyed[pattern] if pattern is not None else _NOTHING
            line = pattern is not None
        floats |= _walk(child, item, f"{path}.{key}", add, multiline=line)
    return floats


def _leaf(value: object, path: str, add: AddError, *, multiline: bool) -> bool:
    if isinstance(value, str):
        if (problem := text_problem(value, multiline=multiline)) is not None:
            add(path, problem)
        return False
    return isinstance(value, float)
