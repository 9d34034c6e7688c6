"""GTIN ownership: a manufacturer issues only under the GS1 company prefixes registered for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlmodel import Session

from passport.core.errors import InvalidInput
from passport.core.product.gs1 import normalise_gtin
from passport.services.demo import load_demo
from passport.services.orgs.prefixes import check_prefixes, owns
from passport.store import db
from tests.helpers import bearer, example, value

TEXTILE_GTIN = "08712345678906"  # under 8712345, the weaver's prefix
MATTRESS_GTIN = "08712346012341"  # under 8712346, the mattress maker's prefix


def org(runner: FlaskCliRunner, slug: str, *extra: str) -> str:
    """Create a manufacturer with `extra` options (prefixes); return its token."""
    args = ["org", "create", slug, "--name", slug.title(), "--role", "manufacturer", *extra]
    created = runner.invoke(args=args)
    assert created.exit_code == 0, created.output
    return str(runner.invoke(args=["token", "create", slug]).stdout.strip())


def ledger_size(app: Flask) -> int:
    return int(value(app, "SELECT size FROM ledger_head"))


def test_examples_lie_under_their_makers_prefixes() -> None:
    assert example("textile")["gtin"] == TEXTILE_GTIN
    assert example("mattress")["gtin"] == MATTRESS_GTIN
    assert normalise_gtin(MATTRESS_GTIN) == MATTRESS_GTIN  # a valid check digit
    assert owns(["8712345"], TEXTILE_GTIN)
    assert not owns(["8712345"], MATTRESS_GTIN)
    assert owns(["8712346"], MATTRESS_GTIN)
    assert not owns(["8712346"], TEXTILE_GTIN)


def test_a_maker_cannot_issue_under_anothers_gtin(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    """The issue's report: the mattress maker issued under the blanket weaver's GTIN."""
    org(runner, "weaver", "--gcp", "8712345")
    mattress = org(runner, "matras", "--gcp", "8712346")
    before = ledger_size(app)
    body = example("textile")
    answer = client.post("/api/v1/passports", json=body, headers=bearer(mattress))
    assert answer.status_code == 403, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["type"].endswith("/problems/gtin-not-owned")
    assert TEXTILE_GTIN in problem["detail"]
    assert "8712346" in problem["detail"]
    assert list(problem["errors"]) == ["gtin"]
    assert ledger_size(app) == before
    described = client.get("/problems/gtin-not-owned").get_json()
    assert described["title"] == "GTIN outside the organisation's GS1 company prefixes"
    own = client.post("/api/v1/passports", json=example("mattress"), headers=bearer(mattress))
    assert own.status_code == 201, own.get_json()


def test_bulk_names_every_foreign_row_and_stores_nothing(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    mattress = org(runner, "matras", "--gcp", "8712346")
    before = ledger_size(app)
    rows = [example("mattress"), example("textile"), example("mattress"), example("textile")]
    answer = client.post("/api/v1/passports:bulk", json=rows, headers=bearer(mattress))
    assert answer.status_code == 403, answer.get_json()
    problem = answer.get_json()
    assert set(problem["errors"]) == {"rows.2.gtin", "rows.4.gtin"}
    assert "8712346" in problem["errors"]["rows.2.gtin"][0]
    assert ledger_size(app) == before


def test_an_invalid_gtin_is_still_a_422(client: FlaskClient, runner: FlaskCliRunner) -> None:
    token = org(runner, "matras", "--gcp", "8712346")
    body = example("textile")
    body["gtin"] = "08712345678907"  # wrong check digit: judged as input, not as ownership
    assert client.post("/api/v1/passports", json=body, headers=bearer(token)).status_code == 422


def test_import_refuses_foreign_gtins(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    org(runner, "matras", "--gcp", "8712346")
    before = ledger_size(app)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([example("mattress"), example("textile")]))
    result = runner.invoke(args=["import", str(path), "--org", "matras"])
    assert result.exit_code == 1
    assert TEXTILE_GTIN in result.output
    assert "8712346" in result.output
    assert ledger_size(app) == before


def test_a_maker_without_prefixes_issues_nothing_until_one_is_added(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    token = org(runner, "newcomer")
    refused = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert refused.status_code == 403
    assert "none registered" in refused.get_json()["detail"]
    added = runner.invoke(args=["org", "add-prefix", "newcomer", "--gcp", "8712345"])
    assert added.exit_code == 0, added.output
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(token))
    assert issued.status_code == 201, issued.get_json()


def test_prefixes_are_listed_and_published(client: FlaskClient, runner: FlaskCliRunner) -> None:
    org(runner, "weaver", "--gcp", "8712345", "--gcp", "0614141", "--gtin8", "96385074")
    listed = runner.invoke(args=["org", "list"])
    assert "GS1 PREFIXES" in listed.stdout
    assert "0614141, 8712345, GTIN-8 96385074" in listed.stdout
    document = client.get("/orgs/weaver/did.json").get_json()
    [service] = document["service"]
    assert service["type"] == "GS1CompanyPrefixes"
    assert service["id"] == f"{document['id']}#gs1-prefixes"
    assert service["gs1CompanyPrefix"] == ["0614141", "8712345"]
    assert service["gtin8"] == ["96385074"]
    assert service["serviceEndpoint"] == "https://dpp.example.nl"
    terms = document["@context"][-1]
    assert {"GS1CompanyPrefixes", "gs1CompanyPrefix", "gtin8"} <= set(terms)
    runner.invoke(args=["org", "create", "fixer", "--name", "F", "--role", "repairer"])
    assert "service" not in client.get("/orgs/fixer/did.json").get_json()


def test_a_shared_prefix_is_pointed_out(runner: FlaskCliRunner) -> None:
    org(runner, "brand", "--gcp", "8712345")
    result = runner.invoke(
        args=[
            "org",
            "create",
            "maker2",
            "--name",
            "M",
            "--role",
            "manufacturer",
            "--gcp",
            "87123456",
        ]
    )
    assert result.exit_code == 0
    assert "overlaps prefixes of brand" in result.stderr


def test_upc_and_gtin8_rules() -> None:
    upc = normalise_gtin("614141000036")  # a GTIN-12 under U.P.C. company prefix 614141
    assert owns(["0614141"], upc)
    assert not owns(["614141"], upc)  # registered without its leading 0: another prefix
    gtin8 = normalise_gtin("96385074")
    assert not owns(["9638"], gtin8)  # a GTIN-8 has no company prefix
    assert owns(check_prefixes([], ["96385074"]), gtin8)
    assert not owns(check_prefixes([], ["96385074"]), normalise_gtin("96385081"))


@pytest.mark.parametrize(
    ("gcps", "gtin8s", "field"),
    [
        (["871"], [], "gcp"),  # 3 digits
        (["8712345678901"], [], "gcp"),  # 13 digits
        (["87a2345"], [], "gcp"),
        (["٨٧١٢٣٤٥"], [], "gcp"),  # Arabic-Indic digits
        (["0000012"], [], "gcp"),  # the GTIN-8 space
        ([], ["96385075"], "gtin8"),  # wrong check digit
        ([], ["9638507"], "gtin8"),
    ],
)
def test_bad_prefixes_are_refused(gcps: list[str], gtin8s: list[str], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_prefixes(gcps, gtin8s)
    assert list(info.value.errors) == [field]


def test_org_create_refuses_a_bad_prefix(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["org", "create", "m", "--name", "M", "--role", "manufacturer", "--gcp", "12"]
    )
    assert result.exit_code == 1
    assert "gcp: '12': a GS1 company prefix is 4-12 digits" in result.output


def test_the_demo_makers_issue_their_own_examples(app: Flask) -> None:
    ctx: Any = app.extensions["passport.services"]
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as sess:
        banner = load_demo(sess, ctx, at=datetime.now(UTC).replace(microsecond=0))
    base = ctx.base_url
    passports = [line for line in banner.splitlines() if line.strip().startswith(f"{base}/01/")]
    assert sum(f"/01/{TEXTILE_GTIN}/" in line for line in passports) == 3
    # The two demo mattresses and the one claiming recycled steel; the remanufactured
    # successor lies under the remanufacturer's prefix.
    assert sum(f"/01/{MATTRESS_GTIN}/" in line for line in passports) == 3
    assert sum("/01/08712347" in line for line in passports) == 1
