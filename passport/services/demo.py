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
from passport.services.passports.read import passport_paths

# The GS1 company prefixes of the demo makers: each example's GTIN lies under its maker's.
DEMO_PREFIXES = {"twentse-weverij": ["8712345"], "deventer-matras": ["8712346"]}
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
    """Create the demo organisations and passports if missing; return what to show the user.

    Every link printed answers: the OpenAPI document, each demo passport's API URL, and each
    organisation's DID document.
    """
    created = []
    for slug, name, roles, province, municipality in DEMO_ORGS:
        try:
            get_organisation(sess, slug)
        except NotFound:
            sess.rollback()  # end the reading transaction: creating takes the write lock at BEGIN
            create_organisation(
                sess,
                ctx,
                slug=slug,
                name=name,
                roles=roles,
                province=province,
                municipality=municipality,
                gcps=DEMO_PREFIXES.get(slug, []),
                at=at,
            )
            created.append(slug)
    if "twentse-weverij" in created:
        _issue_demo_passports(sess, ctx, at=at)
    base = ctx.base_url
    lines = [f"Demo service at {base}, API contract at {base}/api/v1/openapi.json"]
    lines.append("Demo passports (read them with GET; anyone may, roles see more):")
    for slug, *_rest in DEMO_ORGS:
        org = get_organisation(sess, slug)
        lines += [f"  {base}/api/v1/passports/{path}" for path in passport_paths(sess, org.id)]
    lines.append("Demo API tokens (new ones at every start; use as 'Authorization: Bearer …'):")
    for slug, _name, roles, _p, _m in DEMO_ORGS:
        token = create_token(sess, slug, label="demo", at=at)
        lines.append(f"  {slug:<16} {'/'.join(roles):<20} {token}")
    lines.append(f"Issuer keys: {base}/orgs/<slug>/did.json")
    return "\n".join(lines)


def _issue_demo_passports(sess: Session, ctx: ServiceContext, *, at: datetime) -> None:
    for slug, example, count in (
        ("twentse-weverij", "textile", 3),
        ("deventer-matras", "mattress", 2),
    ):
        org = get_organisation(sess, slug)
        body = json.loads((SCHEMAS_DIR / "examples" / f"{example}.json").read_text("utf-8"))
        issue_passports(sess, ctx, Caller(org.id, org.slug, org.roles), [body] * count, at=at)
