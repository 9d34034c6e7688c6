"""The GS1-Conformant resolver: `/01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}]`.

What a QR label points at. Following GS1 Digital Link URI syntax 1.4 and the GS1-Conformant
Resolver standard 1.2:

- The path is parsed strictly (`passport.core.product.gs1.parse_path`): bad syntax or a bad
  check digit is a 400 naming the fault; a GTIN-8, -12 or -13 is redirected (301) to its
  14-digit form. An unknown product is a 404; no error is ever a 200.
- Fallback: where a finer level has no passport, item → batch → model, by a 307 redirect
  that keeps the query string. A material lot (`/01/{gtin}/10/{lot}`) resolves like a
  batch.
- `?linkType=linkset` (or `all`), or `Accept: application/linkset+json`: the RFC 9264
  linkset. `?linkType={type}` (`gs1:pip`, `gs1:dpp`, `gs1:sustainabilityInfo`, …):
  a 307 redirect to that link (an unknown type falls back to the default link, as the
  standard says). `Accept: application/ld+json` (or `application/json`): the public
  credential. Otherwise the HTML lifecycle page.
- Every answer about a passport or lot carries a `Link` header to its linkset; every answer
  carries CORS headers and `Vary`. Redirects have no body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import get_locale

from passport.core.errors import BadIdentifier, InvalidInput, NotFound
from passport.core.product.gs1 import DigitalLink, normalise_gtin, parse_path
from passport.services.passports.read import get_passport
from passport.services.views.lifecycle import lifecycle_page, lot_page, page_version
from passport.services.views.resolve import resolved
from passport.store import db
from passport.web.links import (
    LINKSET_MEDIA_TYPE,
    Link,
    choose,
    link_header,
    link_type,
    linkset,
    lot_links,
    passport_links,
)
from passport.web.record import allowed_kinds
from passport.web.session import current_caller, page_context

bp = Blueprint("resolver", __name__)


def redirect(location: str, code: int) -> Response:
    """A redirect with no body (the standard's resolvers answer with the Location alone)."""
    return Response(status=code, headers={"Location": location}, mimetype="text/plain")


_OFFERED = ["text/html", "application/ld+json", LINKSET_MEDIA_TYPE, "application/json"]


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language"
    response.headers["Access-Control-Expose-Headers"] = "Link, Location, Content-Language"
    response.headers["Vary"] = "Accept, Accept-Language, Cookie"
    return response


bp.after_request(_cors)


def _query(drop: str | None = None) -> str:
    """Return the request's query string (without `drop`), with its `?`."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != drop]
    return "?" + urlencode(pairs) if pairs else ""


def _parse(rest: str) -> DigitalLink | Response:
    """Parse the path; a valid one with a short GTIN gets a redirect to its 14-digit form."""
    segments = rest.split("/")
    try:
        gtin = normalise_gtin(segments[0], field="01")
        link = parse_path("/".join(["01", gtin, *segments[1:]]))
    except InvalidInput as exc:
        raise BadIdentifier(exc.detail, errors=exc.errors) from None
    if gtin != segments[0]:
        return redirect(f"/{link.path}{_query()}", 301)
    return link


@bp.route("/01/<path:rest>", methods=["GET", "HEAD"])
def resolve(rest: str) -> Response:
    """Resolve a GS1 Digital Link URI of this service."""
    parsed = _parse(rest)
    if isinstance(parsed, Response):
        return parsed
    with db.engine().connect() as conn:  # a bare connection: see services.views.resolve
        found = resolved(conn, parsed)
    if found is None:
        raise NotFound(f"no passport or material lot {parsed.path} on this service")
    kind, path = found
    if path != parsed.path:
        return redirect(f"/{path}{_query()}", 307)
    answer = _passport(path) if kind == "passport" else _lot(path)
    answer.headers["Link"] = link_header(f"{current_app.config['DPP_BASE_URL']}/{path}")
    return answer


def _negotiate(links: list[Link], anchor: str, description: str) -> str | Response:
    """Answer a linkType or an Accept asking for the linkset; else return the media type."""
    asked = request.args.get("linkType")
    if asked in ("linkset", "all"):
        return _linkset(anchor, links, description)
    if asked:
        rel = link_type(asked) or "defaultLink"
        chosen = choose(links, rel, str(get_locale())) or choose(links, "defaultLink", "en")
        assert chosen is not None  # every thing resolved has a default link
        return redirect(chosen.href, 307)
    best = request.accept_mimetypes.best_match(_OFFERED, default="text/html")
    if best == LINKSET_MEDIA_TYPE:
        return _linkset(anchor, links, description)
    return str(best)


def _linkset(anchor: str, links: list[Link], description: str) -> Response:
    body = orjson.dumps(linkset(anchor, links, description), option=orjson.OPT_INDENT_2)
    return Response(body, mimetype=LINKSET_MEDIA_TYPE)


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(_OFFERED, default="text/html") == "text/html"


def _passport(path: str) -> Response:
    ctx = current_app.extensions["passport.services"]
    if request.args.get("linkType") or not _wants_html():
        stored = get_passport(db.session(), ctx, None, path)
        credential = orjson.loads(stored.credential)
        name = str(credential["credentialSubject"].get("product", {}).get("name", path))
        chosen = _negotiate(passport_links(ctx.base_url, path, name), stored.uri, name)
        if isinstance(chosen, Response):
            return chosen
        return Response(stored.credential, mimetype="application/ld+json")
    caller = current_caller()
    cached = _cached_page(path) if caller is None else None
    if cached is not None:
        return _html(cached)
    page = lifecycle_page(db.session(), ctx, caller, path)
    recordable = caller is not None and bool(
        allowed_kinds(caller, (entry.kind for entry in page.entries))
    )
    html = render_template("passport.html", page=page, recordable=recordable, **page_context())
    if caller is None:
        _keep_page(path, html)
    return _html(html)


# Anonymous readers' pages, by passport, language, query and the page's version
# (`page_version`): a page is made once per change of its passport, not once per scan.
_PAGES_KEPT = 512


def _page_key(path: str) -> tuple[Any, ...] | None:
    with db.engine().connect() as conn:
        version = page_version(conn, path)
    if version is None:
        return None
    return (path, str(get_locale()), request.query_string, version)


def _cached_page(path: str) -> str | None:
    key = _page_key(path)
    g.page_key = key
    pages: dict[tuple[Any, ...], str] = current_app.extensions["passport.web.pages"]
    return None if key is None else pages.get(key)


def _keep_page(path: str, html: str) -> None:
    key = g.get("page_key")
    pages: dict[tuple[Any, ...], str] = current_app.extensions["passport.web.pages"]
    if key is not None:
        if len(pages) >= _PAGES_KEPT:
            pages.clear()
        pages[key] = html


def _lot(path: str) -> Response:
    ctx = current_app.extensions["passport.services"]
    page = lot_page(db.session(), ctx, path)
    lot = page.lot
    chosen = _negotiate(lot_links(ctx.base_url, path, lot.material), lot.uri, lot.material)
    if isinstance(chosen, Response):
        return chosen
    if chosen != "text/html":
        return Response(orjson.dumps(lot.credential), mimetype="application/ld+json")
    html = render_template(
        "lot.html",
        lot=lot,
        producer=page.producer,
        entry=page.entry,
        checkpoint_size=page.checkpoint_size,
        **page_context(),
    )
    return _html(html)


def _html(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = str(get_locale())
    response.headers["Cache-Control"] = (
        "private, no-cache" if current_caller() else "public, max-age=30"
    )
    return response


@bp.get("/.well-known/gs1resolver")
def description() -> Response:
    """Describe this resolver (GS1-Conformant Resolver standard, resolver description file)."""
    base = current_app.config["DPP_BASE_URL"]
    body: dict[str, Any] = {
        "name": "Product passport ledger",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": "https://gs1.org/voc/", "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": True,
        "supportedContextValuesEnumerated": [],
        "validatingSchema": "https://ref.gs1.org/standards/resolver/description-file-schema",
    }
    response = Response(orjson.dumps(body, option=orjson.OPT_INDENT_2), mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
