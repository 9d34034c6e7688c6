"""Which passports a label sheet shows: passports named by id, or those an organisation issued.

A label carries public information only (the Digital Link URI, the product name of the public
credential, the GS1 identity): only the public tier is ever read, whoever asks. (The API
asks for a token all the same: a sheet takes seconds to draw.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from passport.core.errors import InvalidInput, NotFound
from passport.core.product.gs1 import DigitalLink, parse_path, path_on
from passport.services.context import ServiceContext
from passport.services.labels.sheet import MAX_LABELS, Label
from passport.services.passports import listing
from passport.services.passports.read import get_passport

MAX_IDS = 1_000  # passports named in one request; more: select by issuer, or several sheets
_PAGE = 500  # passports read a listing page


def labels_for(
    sess: Session,
    ctx: ServiceContext,
    *,
    ids: Sequence[str] | None = None,
    issuer: str | None = None,
    since: datetime | None = None,
) -> list[Label]:
    """Return the labels of the passports named by `ids` (in that order), or of every passport
    the organisation `issuer` issued, at or after `since` if given (in issue order).

    `ids` are passport ids (`01/{gtin}/…`) or their Digital Link URIs on this service, at most
    MAX_IDS; unknown ones are named in one NotFound. An issuer's selection may hold at most
    MAX_LABELS passports. Labels show public information only: the same for every reader.
    """
    if (ids is None) == (issuer is None):
        raise InvalidInput(
            "name the passports, or an issuer, not both",
            errors={"passports": ["give either passports or issuer"]},
        )
    if ids is not None:
        if since is not None:
            raise InvalidInput(
                "`since` selects among an issuer's passports",
                errors={"since": ["only with issuer"]},
            )
        return _named(sess, ctx, _links(ids, ctx.base_url))
    assert issuer is not None
    return [_label(sess, ctx, link) for link in _issued(sess, ctx, issuer, since)]


def human_readable(link: DigitalLink) -> str:
    """Return the GS1 human-readable interpretation of `link`: `(01) {gtin}`, then `(22)`,
    `(10)` and `(21)` with their values as they are (not percent-encoded), as present."""
    parts = [("01", link.gtin), ("22", link.variant), ("10", link.lot), ("21", link.serial)]
    return " ".join(f"({ai}) {value}" for ai, value in parts if value is not None)


def _links(ids: Sequence[str], base_url: str) -> list[DigitalLink]:
    """Parse the named ids; InvalidInput names every one that is no passport id."""
    if not ids:
        raise InvalidInput("no passports named", errors={"passports": ["name at least one"]})
    if len(ids) > MAX_IDS:
        raise InvalidInput(
            f"{len(ids):,} passports named; at most {MAX_IDS:,} a request "
            "(select an issuer's passports with `issuer` and `since` for more)",
            errors={"passports": [f"at most {MAX_IDS:,} ids"]},
        )
    links: list[DigitalLink] = []
    errors: dict[str, list[str]] = {}
    for number, reference in enumerate(ids):
        path = path_on(reference, base_url)
        try:
            if path is None:
                raise InvalidInput("not a passport of this service")
            links.append(parse_path(path))
        except InvalidInput:
            errors[f"passports.{number}"] = [
                "not a passport id (01/{gtin}/…) or Digital Link URI of this service"
            ]
    if errors:
        raise InvalidInput(f"{len(errors)} of the ids are no passport ids", errors=errors)
    return links


def _named(sess: Session, ctx: ServiceContext, links: list[DigitalLink]) -> list[Label]:
    """Return the labels of `links`; one NotFound names every passport that does not exist."""
    labels: list[Label] = []
    missing: dict[str, list[str]] = {}
    for number, link in enumerate(links):
        try:
            labels.append(_label(sess, ctx, link))
        except NotFound:
            missing[f"passports.{number}"] = [f"no passport {link.path}"]
    if missing:
        first = next(iter(missing.values()))[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFound(f"{first}{more}", errors=missing)
    return labels


def _issued(
    sess: Session, ctx: ServiceContext, issuer: str, since: datetime | None
) -> list[DigitalLink]:
    """Return the passports `issuer` issued (at or after `since`), in issue order.

    The listing's `since` also keeps passports changed since (an event on an old one): it
    narrows the pages read, and the issue time decides.
    """
    if since is not None and since.utcoffset() is None:
        raise InvalidInput("`since` needs a time zone", errors={"since": ["e.g. …Z or +02:00"]})
    found: list[DigitalLink] = []
    cursor: str | None = None
    while True:
        query = listing.Query(issuer=issuer, since=since, limit=_PAGE, cursor=cursor)
        page, cursor = listing.list_passports(sess, ctx, query)
        found += [parse_path(p.id) for p in page if since is None or p.issued_at >= since]
        if len(found) > MAX_LABELS:
            raise InvalidInput(
                f"{issuer} issued more than {MAX_LABELS:,} passports"
                + (f" since {since.isoformat()}" if since else "")
                + f"; a sheet holds at most {MAX_LABELS:,} labels: choose a later `since`, "
                "or name the passports",
                errors={"since" if since else "issuer": [f"at most {MAX_LABELS:,} passports"]},
            )
        if cursor is None:
            break
    if not found:
        raise InvalidInput(
            f"{issuer} issued no passports" + (f" since {since.isoformat()}" if since else ""),
            errors={"since" if since else "issuer": ["selects no passport"]},
        )
    return found


def _label(sess: Session, ctx: ServiceContext, link: DigitalLink) -> Label:
    """Return the label of one passport, its name read from the public credential."""
    view = get_passport(sess, ctx, None, link.path)  # anonymous: the public tier only
    credential: dict[str, Any] = orjson.loads(view.credential)
    product = credential.get("credentialSubject", {}).get("product", {})
    name = product.get("name") if isinstance(product, dict) else None
    return Label(uri=view.uri, name=name if isinstance(name, str) else "", hri=human_readable(link))
