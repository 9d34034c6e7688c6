"""Public documents: DID documents, the JSON-LD context, problem type pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from typing import Any

from flask import Blueprint, Response, current_app

from passport.core.signing.did import PrefixService, did_document, did_web
from passport.services.context import SCHEMAS_DIR
from passport.services.events.status_lists import signed_status_list
from passport.services.orgs.keys import published_keys
from passport.services.orgs.organisations import get_organisation
from passport.services.orgs.prefixes import GTIN8_SPACE
from passport.store import db

bp = Blueprint("public", __name__)
_CONTEXT_FILE = SCHEMAS_DIR / "contexts" / "dpp-v1.jsonld"


def _json(body: Any, mimetype: str = "application/json") -> Response:
    return Response(json.dumps(body, indent=2), mimetype=mimetype)


@bp.get("/orgs/<slug>/did.json")
def did_json(slug: str) -> Response:
    """Serve the DID document of organisation `slug`, with every key it ever used.

    An organisation holding GS1 prefixes publishes them here, in a `GS1CompanyPrefixes`
    service entry (`passport.core.signing.did.did_document`): anyone can see under which
    GTINs it may issue passports.
    """
    sess = db.session()
    org = get_organisation(sess, slug)
    base_url = current_app.config["DPP_BASE_URL"]
    did = did_web(base_url, org.slug)
    prefixes = None
    if org.prefixes:
        gtin8s = [p for p in org.prefixes if len(p) == 13 and p.startswith(GTIN8_SPACE)]
        prefixes = PrefixService(
            company_prefixes=[p for p in org.prefixes if p not in gtin8s],
            gtin8s=[p.removeprefix(GTIN8_SPACE) for p in gtin8s],
            resolver=base_url,
        )
    response = _json(did_document(did, published_keys(sess, org.id), prefixes))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/orgs/<slug>/status/<int(signed=True):number>")
def status_list(slug: str, number: int) -> Response:
    """Serve status list `number` of organisation `slug`: a W3C Bitstring Status List
    credential, signed now, telling any verifier which of its passport versions are active,
    superseded or at the end of their life."""
    ctx = current_app.extensions["passport.services"]
    at = datetime.now(UTC).replace(microsecond=0)
    response = _json(signed_status_list(db.session(), ctx, slug, number, at=at))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/contexts/dpp/v1")
def context() -> Response:
    """Serve the JSON-LD context every credential names."""
    response = Response(_read(_CONTEXT_FILE), mimetype="application/ld+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _read(path: Traversable) -> str:
    return path.read_text(encoding="utf-8")


def _problem_types() -> dict[str, tuple[str, str]]:
    from passport.core import errors
    from passport.services.passports.issue import BulkRejected

    found: dict[str, tuple[str, str]] = {}
    pending: list[type[errors.PassportError]] = [errors.PassportError]
    while pending:
        cls = pending.pop()
        found[cls.code] = (cls.title, (cls.__doc__ or "").strip())
        pending += cls.__subclasses__()
    found[BulkRejected.code] = (BulkRejected.title, (BulkRejected.__doc__ or "").strip())
    return found


@bp.get("/problems/<code>")
def problem_type(code: str) -> Response:
    """Describe a problem type, so that each problem's `type` URI leads somewhere useful."""
    known = _problem_types()
    if code not in known:
        return _json({"code": code, "title": "HTTP error", "description": "See the status."})
    title, description = known[code]
    return _json({"code": code, "title": title, "description": description})
