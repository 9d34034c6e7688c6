"""A small demo data set: Overijssel makers, a repairer, a recycler, an auditor, a few passports."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from passport.core.errors import NotFound
from passport.core.product.access import Caller
from passport.services.context import SCHEMAS_DIR, ServiceContext
from passport.services.orgs.organisations import create_organisation, get_organisation
from passport.services.orgs.tokens import create_token
from passport.services.passports.issue import issue_passports

DEMO_ORGS = [
    ("twentse-weverij", "Twentse Weverij (demo)", ["manufacturer"], "Overijssel", "Enschede"),
    (
        "deventer-matras",
        "Deventer Matrasfabriek (demo)",
        ["manufacturer"],
        "Overijssel",
        "Deventer",
    ),
    ("repair-zwolle", "Reparatiecafé Zwolle (demo)", ["repairer"], "Overijssel", "Zwolle"),
    (
        "vezel-recycling",
        "Vezelrecycling Almelo (demo)",
        ["recycler", "collector"],
        "Overijssel",
        "Almelo",
    ),
    ("ilt-toezicht", "Toezichthouder (demo)", ["auditor"], "Utrecht", "Utrecht"),
]


def load_demo(sess: Session, ctx: ServiceContext, *, at: datetime) -> str:
    """Create the demo organisations and passports if missing; return URL, tokens and ids."""
    created = []
    for slug, name, roles, province, municipality in DEMO_ORGS:
        try:
            get_organisation(sess, slug)
        except NotFound:
            create_organisation(
                sess,
                ctx,
                slug=slug,
                name=name,
                roles=roles,
                province=province,
                municipality=municipality,
                at=at,
            )
            created.append(slug)
    lines = [f"Demo service at {ctx.base_url}/  (OpenAPI: {ctx.base_url}/api/v1/openapi.json)"]
    if "twentse-weverij" in created:
        lines += _demo_passports(sess, ctx, at=at)
    lines.append("Demo API tokens (new ones at every start; use as 'Authorization: Bearer …'):")
    for slug, _name, roles, _p, _m in DEMO_ORGS:
        token = create_token(sess, slug, label="demo", at=at)
        lines.append(f"  {slug:<16} {'/'.join(roles):<20} {token}")
    return "\n".join(lines)


def _demo_passports(sess: Session, ctx: ServiceContext, *, at: datetime) -> list[str]:
    lines = ["Demo passports:"]
    for slug, example, count in (
        ("twentse-weverij", "textile", 3),
        ("deventer-matras", "mattress", 2),
    ):
        org = get_organisation(sess, slug)
        body = json.loads((SCHEMAS_DIR / "examples" / f"{example}.json").read_text("utf-8"))
        views = issue_passports(
            sess, ctx, Caller(org.id, org.slug, org.roles), [body] * count, at=at
        )
        lines += [f"  {view.uri}" for view in views]
    return lines
