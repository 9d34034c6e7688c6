"""A small demo data set: Overijssel makers, a repairer, a remanufacturer, a recycler, an
auditor, a few passports, and a whole life: a blanket repaired twice, a mattress
remanufactured, another collected, sorted and recycled into steel, foam and polyester lots, and
a new mattress claiming recycled steel from one of them."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import datetime
from typing import Any

from sqlmodel import Session

from passport.core.errors import Conflict, NotFound
from passport.core.product.access import Caller
from passport.services.context import SCHEMAS_DIR, ServiceContext
from passport.services.events.record import record_event
from passport.services.orgs.organisations import create_organisation, get_organisation
from passport.services.orgs.tokens import create_token
from passport.services.orgs.users import create_user, list_users
from passport.services.passports.issue import issue_passports
from passport.services.passports.read import passport_paths
from passport.store.sql import driver_query

# The GS1 company prefixes of the demo makers: each example's GTIN lies under its maker's (and
# the remanufacture and recycle examples' GTINs under the remanufacturer's and recycler's).
DEMO_PREFIXES = {
    "twentse-weverij": ["8712345"],
    "deventer-matras": ["8712346"],
    "matras-revisie": ["8712347"],
    "vezel-recycling": ["8712348"],
}
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
    ("matras-revisie", "Matras Revisie Ede (demo)", ["remanufacturer"], "Gelderland", "Ede"),
    (
        "vezel-recycling",
        "Vezelrecycling Almelo (demo)",
        ["recycler", "collector"],
        "Overijssel",
        "Almelo",
    ),
    ("ilt-toezicht", "Toezichthouder (demo)", ["auditor"], "Utrecht", "Utrecht"),
]
# One person per demo organisation, to sign in to the web pages as. Demo only: the banner
# prints the password for anyone to use.
DEMO_PASSWORD = "demo-password-2026"
DEMO_USERS = {
    "twentse-weverij": "maker@demo.invalid",
    "deventer-matras": "mattress-maker@demo.invalid",
    "repair-zwolle": "repairer@demo.invalid",
    "matras-revisie": "remanufacturer@demo.invalid",
    "vezel-recycling": "recycler@demo.invalid",
    "ilt-toezicht": "auditor@demo.invalid",
}


def load_demo(sess: Session, ctx: ServiceContext, *, at: datetime) -> str:
    """Create the demo organisations, passports and users if missing; return what to show the
    user.

    Every link printed answers: the OpenAPI document, each demo passport's API URL, each
    organisation's DID document, and the web sign-in page.
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
        live_demo_life(sess, ctx, at=at)
    base = ctx.base_url
    lines = [f"Demo service at {base}, API contract at {base}/api/v1/openapi.json"]
    lines.append(f"Start page {base}/ and API documentation {base}/api/v1/docs")
    lines.append(
        "Demo passports: the lifecycle pages their QR labels open (in a browser; the API has "
        "each at /api/v1/passports/01/…):"
    )
    for slug, *_rest in DEMO_ORGS:
        org = get_organisation(sess, slug)
        lines += [f"  {base}/{path}" for path in passport_paths(sess, org.id)]
    lines += _life_links(sess, base)
    lines.append("Demo API tokens (new ones at every start; use as 'Authorization: Bearer …'):")
    for slug, _name, roles, _p, _m in DEMO_ORGS:
        token = create_token(sess, slug, label="demo", at=at)
        lines.append(f"  {slug:<16} {'/'.join(roles):<20} {token}")
    lines += _demo_users(sess, base, at=at)
    lines.append(f"Issuer keys: {base}/orgs/<slug>/did.json")
    return "\n".join(lines)


def _demo_users(sess: Session, base: str, *, at: datetime) -> list[str]:
    """Create the demo users if missing; return the lines saying how to sign in as them."""
    lines = [f"Demo sign-in at {base}/login (demo only: every password is {DEMO_PASSWORD}):"]
    for slug, email in DEMO_USERS.items():
        if email not in {user.email for user in list_users(sess, slug)}:
            with suppress(Conflict):  # the address was given to someone else: leave it be
                create_user(sess, org_slug=slug, email=email, password=DEMO_PASSWORD, at=at)
        lines.append(f"  {slug:<16} {email}")
    return lines


def _issue_demo_passports(sess: Session, ctx: ServiceContext, *, at: datetime) -> None:
    for slug, example, count in (
        ("twentse-weverij", "textile", 3),
        ("deventer-matras", "mattress", 2),
    ):
        org = get_organisation(sess, slug)
        body = json.loads((SCHEMAS_DIR / "examples" / f"{example}.json").read_text("utf-8"))
        issue_passports(sess, ctx, Caller(org.id, org.slug, org.roles), [body] * count, at=at)


def _caller(sess: Session, slug: str) -> Caller:
    org = get_organisation(sess, slug)
    return Caller(org.id, org.slug, org.roles)


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (SCHEMAS_DIR / "examples" / f"{name}.json").read_text("utf-8")
    )
    return loaded


def live_demo_life(sess: Session, ctx: ServiceContext, *, at: datetime) -> None:
    """Record the demo's lives through the real use cases, as the chain's members would."""
    blanket, *_ = passport_paths(sess, _caller(sess, "twentse-weverij").org_id)
    first, second = passport_paths(sess, _caller(sess, "deventer-matras").org_id)
    repair = _example("events/repair")
    record_event(sess, ctx, _caller(sess, "repair-zwolle"), blanket, repair, at=at)
    again = {key: value for key, value in repair.items() if not key.startswith("mass_")}
    again |= {"occurred_at": "2026-11-28T11:00:00+01:00", "parts_replaced": [
        {"part": "label", "material": "cotton", "quantity": 1, "mass_g": 2}]}  # fmt: skip
    record_event(sess, ctx, _caller(sess, "repair-zwolle"), blanket, again, at=at)
    remanufacture = _example("events/remanufacture")
    record_event(sess, ctx, _caller(sess, "matras-revisie"), first, remanufacture, at=at)
    recycler = _caller(sess, "vezel-recycling")
    for kind in ("collect", "sort", "recycle"):
        record_event(sess, ctx, recycler, second, _example(f"events/{kind}"), at=at)
    steel = driver_query(
        sess.connection(), "SELECT id FROM material_lot WHERE material = 'steel'", ()
    )[0][0]
    claiming = _example("mattress")
    claiming["product"]["recycled_content"] = [
        {
            "material": "steel",
            "share_percent": 25,
            "origin": "post_consumer",
            "lots": [{"lot_id": f"{ctx.base_url}/{steel}", "mass_g": 5500}],
        }
    ]
    issue_passports(sess, ctx, _caller(sess, "deventer-matras"), [claiming], at=at)


def _life_links(sess: Session, base: str) -> list[str]:
    """Links that show the demo's lives: events, lineage and lots."""
    conn = sess.connection()
    remade = driver_query(conn, "SELECT id FROM passport WHERE predecessor_id IS NOT NULL", ())
    repaired = driver_query(
        conn, "SELECT DISTINCT passport_id FROM history_entry WHERE kind = 'event:repair'", ()
    )
    lots = driver_query(conn, "SELECT id FROM material_lot ORDER BY ledger_index", ())
    lines = ["Lifecycles (events, lineage, material lots):"]
    lines += [f"  {base}/api/v1/passports/{path}/events" for (path,) in repaired]
    lines += [f"  {base}/api/v1/passports/{path}/lineage" for (path,) in remade]
    lines += [f"  {base}/api/v1/lots/{lot}" for (lot,) in lots]
    return lines if len(lines) > 1 else []
