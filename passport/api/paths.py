"""Passport ids in API paths: pairs of identifier and value, each segment decoded once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from werkzeug.routing import BaseConverter

PREFIX = "/api/v1/passports/"
# Paths whose tail is a Digital Link path: the API's passports and the resolver's own URIs.
ENCODED_PREFIXES = (PREFIX, "/01/")


class PassportIdConverter(BaseConverter):
    """A passport id in an API path: identifier/value pairs, an even number of segments.

    The path it sees is still percent-encoded (see `EncodedPassportPaths`), so a value holding
    `/` (sent as %2F) is one segment, and `parse_path` decodes each segment once. An even
    path never matches a rule that ends in a sub-resource name, so `…/21/bundle` is the
    passport whose serial is `bundle`, and `…/21/X7QK2M9P/bundle` is its bundle.
    """

    # A Digital Link path starts with the GTIN's AI, 01: any other path is no passport (404),
    # not a passport whose resource lacks the method asked for (405).
    regex = r"01/[^/]+(?:/[^/]+/[^/]+)*"
    part_isolating = False
    weight = 150


class SubResourceConverter(BaseConverter):
    """An odd number of segments: a passport id and a sub-resource no rule above answers."""

    regex = r"[^/]+(?:/[^/]+/[^/]+)*/?"
    part_isolating = False
    weight = 250


CONVERTERS: dict[str, type[BaseConverter]] = {
    "passport_id": PassportIdConverter,
    "sub_resource": SubResourceConverter,
}


class EncodedPassportPaths:
    """WSGI middleware: route passport paths on their percent-encoded segments (under
    /api/v1/passports/ and the resolver's /01/).

    A WSGI server hands the application PATH_INFO already percent-decoded, so `A%2FB` arrives
    as `A/B` and `PC-%2541` as `PC-%41`: splitting that path on `/` (or decoding it again)
    names another passport. Servers also pass the request target as sent: gunicorn, the
    Werkzeug server and test client as RAW_URI, mod_wsgi and uWSGI as REQUEST_URI (the WSGI
    standard has neither). For a path under /api/v1/passports/, this middleware puts the
    encoded form of its tail back into PATH_INFO, so that routing splits on real separators
    and `parse_path` decodes each segment exactly once:

    - when the raw target decodes to exactly SCRIPT_NAME + PATH_INFO, its tail as sent;
    - otherwise (no raw target, or a proxy or server that rewrote the path), the decoded tail
      with each segment percent-encoded again: decoded once still, though a value's `/` can
      then not be told from a separator.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Re-encode the tail of a passport path, then call the app."""
        path = environ.get("PATH_INFO", "")
        for prefix in ENCODED_PREFIXES:
            if path.startswith(prefix):
                tail = _encoded_tail(environ, path[len(prefix) :], prefix)
                environ["PATH_INFO"] = prefix + tail
                break
        return self.app(environ, start_response)


def _encoded_tail(environ: dict[str, Any], tail: str, prefix: str) -> str:
    """Return the tail after `prefix` as sent, or re-encoded (`tail` is WSGI-decoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    head = environ.get("SCRIPT_NAME", "") + prefix
    try:
        parts = urlsplit(raw).path.split("/")
        count = head.count("/")
        raw_head, raw_tail = "/".join(parts[:count]) + "/", "/".join(parts[count:])
        if raw and _decoded(raw_head) == head and _decoded(raw_tail) == tail:
            return raw_tail
        return "/".join(quote(s.encode("latin-1"), safe="!$&'()*+,;=:@") for s in tail.split("/"))
    except (UnicodeError, ValueError):
        return tail


def _decoded(raw: str) -> str:
    """Percent-decode a raw path as WSGI servers do (bytes, as latin-1 text)."""
    return unquote_to_bytes(raw.encode("latin-1")).decode("latin-1")
