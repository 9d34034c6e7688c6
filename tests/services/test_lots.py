"""Material lots and recycled-content claims: no gram is counted twice, on either database.

Lots come from a real recycling run over HTTP; claims are passports (and corrections) that
draw on them. Concurrent claims race through threads of one app and through processes with
apps of their own, as gunicorn workers do.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.core.errors import LedgerInconsistent
from passport.core.lifecycle.bundle import verify_bundle
from passport.core.lifecycle.chain import LoggedEntry, check_materials, subject_of
from passport.core.lifecycle.states import Status
from passport.services.ledger.audit.lots import replay_lots
from passport.store import db
from tests.api.test_events import ROLES, event, issue, record
from tests.helpers import bearer, build_app, close_app, example, run_audit, sql, trials

MASS = 1200  # the textile example's mass, in grams


def claiming(lot: str, grams: int, material: str = "polyester") -> dict[str, Any]:
    """A textile passport whose recycled content draws `grams` of `lot`."""
    body = example("textile")
    share = (200 * grams + MASS) // (2 * MASS)
    body["product"]["recycled_content"] = [
        {
            "material": material,
            "share_percent": share,
            "origin": "post_consumer",
            "lots": [{"lot_id": lot, "mass_g": grams}],
        }
    ]
    return body


@pytest.fixture
def lots(client: FlaskClient, make_org: Callable[..., str]) -> dict[str, Any]:
    """A mattress recycled into steel, foam and polyester lots; the tokens of ROLES."""
    orgs = {slug: make_org(slug, role) for slug, role in ROLES.items()}
    mattress = issue(client, orgs["maker"], "mattress")
    recycled = record(client, orgs["recycler"], mattress, event("recycle"))
    assert recycled.status_code == 201, recycled.get_json()
    by_material = {lot["material"]: lot for lot in recycled.get_json()["lots"]}
    return {"orgs": orgs, **by_material}


def lot_state(client: FlaskClient, lot: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = client.get(f"/api/v1/lots/{lot['id']}").get_json()
    return state


def test_a_claim_draws_on_the_lot_and_a_correction_releases_it(
    client: FlaskClient, lots: dict[str, Any]
) -> None:
    maker, polyester = bearer(lots["orgs"]["maker"]), lots["polyester"]
    issued = client.post("/api/v1/passports", json=claiming(polyester["uri"], 600), headers=maker)
    assert issued.status_code == 201, issued.get_json()
    state = lot_state(client, polyester)
    assert (state["claimed_g"], state["remaining_g"]) == (600, 900)
    assert [c["passport"] for c in state["claims"]] == [issued.get_json()["id"]]
    path = f"/api/v1/passports/{issued.get_json()['id']}/versions"
    smaller = claiming(polyester["id"], 100)["product"]  # a lot may be named by its path too
    assert client.post(path, json={"product": smaller}, headers=maker).status_code == 201
    assert lot_state(client, polyester)["claimed_g"] == 100
    other = client.post("/api/v1/passports", json=claiming(polyester["uri"], 1200), headers=maker)
    assert other.status_code == 201, other.get_json()
    bigger = claiming(polyester["uri"], 600)["product"]  # 1,800 g of 1,500 g
    refused = client.post(path, json={"product": bigger}, headers=maker)
    assert refused.status_code == 409, refused.get_json()
    assert lot_state(client, polyester)["claimed_g"] == 1300
    none = example("textile")["product"]
    assert client.post(path, json={"product": none}, headers=maker).status_code == 201
    assert lot_state(client, polyester)["claimed_g"] == 1200


def test_a_claim_past_what_remains_is_refused_and_stores_nothing(
    client: FlaskClient, lots: dict[str, Any]
) -> None:
    maker, polyester = bearer(lots["orgs"]["maker"]), lots["polyester"]
    first = client.post("/api/v1/passports", json=claiming(polyester["uri"], 1000), headers=maker)
    assert first.status_code == 201
    second = client.post("/api/v1/passports", json=claiming(polyester["uri"], 501), headers=maker)
    assert second.status_code == 409, second.get_json()
    assert "overdrawn" in str(second.get_json()["errors"])
    assert lot_state(client, polyester)["claimed_g"] == 1000
    exact = client.post("/api/v1/passports", json=claiming(polyester["uri"], 500), headers=maker)
    assert exact.status_code == 201
    assert lot_state(client, polyester)["remaining_g"] == 0


@pytest.mark.parametrize(
    ("lot", "material", "named"),
    [
        ("https://dpp.example.nl/01/08712348000018/10/NOSUCHLOT", "polyester", "no material lot"),
        ("https://elsewhere.example/01/08712348000018/10/X", "polyester", "not a material lot"),
        ("steel", "polyester", "holds steel"),
    ],
)
def test_a_claim_on_a_lot_it_cannot_draw_on_is_422(
    client: FlaskClient, lots: dict[str, Any], lot: str, material: str, named: str
) -> None:
    lot = lots[lot]["uri"] if lot in lots else lot
    body = claiming(lot, 100, material)
    response = client.post("/api/v1/passports", json=body, headers=bearer(lots["orgs"]["maker"]))
    assert response.status_code == 422, response.get_json()
    assert named in str(response.get_json()["errors"]["product.recycled_content.0.lots.0.lot_id"])


def test_twenty_threads_never_take_more_than_the_lot(app: Flask, lots: dict[str, Any]) -> None:
    """1,500 g of polyester and twenty claims of 100 g at once: exactly fifteen succeed."""
    polyester, maker = lots["polyester"], bearer(lots["orgs"]["maker"])

    def claim(_n: int) -> int:
        response = app.test_client().post(
            "/api/v1/passports", json=claiming(polyester["uri"], 100), headers=maker
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(claim, range(20)))
    assert sorted(statuses) == [201] * 15 + [409] * 5
    assert lot_state(app.test_client(), polyester)["claimed_g"] == 1500


def _claim_in_process(settings: dict[str, str], lot: str, go: Any, out: Any) -> None:
    """A process with an app of its own (as a gunicorn worker has) makes one claim."""
    app = build_app(settings["url"], Path(settings["keys"]))
    try:
        go.wait(60)
        response = app.test_client().post(
            "/api/v1/passports",
            json=claiming(lot, 100),
            headers=bearer(settings["token"]),
        )
        out.put(response.status_code)
    finally:
        close_app(app)


def test_twenty_processes_never_take_more_than_the_lot(
    app: Flask, lots: dict[str, Any], tmp_path: Path
) -> None:
    """The same race between processes: only the database serialises them."""
    count = trials(20, 6)
    polyester = lots["polyester"]
    context = multiprocessing.get_context("spawn")
    go, out = context.Event(), context.Queue()
    settings = {
        "url": app.config["DATABASE_URL"],
        "keys": str(tmp_path / "keys"),
        "token": lots["orgs"]["maker"],
    }
    processes = [
        context.Process(target=_claim_in_process, args=(settings, polyester["uri"], go, out))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    go.set()
    statuses = sorted(out.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(60)
    fit = min(count, 15)
    assert statuses == [201] * fit + [409] * (count - fit), statuses
    assert lot_state(app.test_client(), polyester)["claimed_g"] == 100 * fit


def test_audit_recomputes_every_lot_from_the_log(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, lots: dict[str, Any]
) -> None:
    maker = bearer(lots["orgs"]["maker"])
    client.post("/api/v1/passports", json=claiming(lots["polyester"]["uri"], 700), headers=maker)
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    sql(app, "UPDATE material_lot SET claimed_g = 0 WHERE id = :i", i=lots["polyester"]["id"])
    tampered = run_audit(runner)
    assert tampered.exit_code == 1, tampered.output
    assert lots["polyester"]["uri"] in tampered.output


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.tuples(st.booleans(), st.integers(6, MASS)), min_size=1, max_size=6))
def test_random_claims_keep_every_balance_and_its_recomputation(
    app: Flask, client: FlaskClient, lots: dict[str, Any], steps: list[tuple[bool, int]]
) -> None:
    """Issue or correct with random grams: each answer is 201 or 409, every lot's balance stays
    within its mass and equals the one recomputed from the log alone."""
    maker, polyester = bearer(lots["orgs"]["maker"]), lots["polyester"]
    issued: list[str] = []
    for correct, grams in steps:
        body = claiming(polyester["uri"], grams)
        if correct and issued:
            path = f"/api/v1/passports/{issued[-1]}/versions"
            response = client.post(path, json={"product": body["product"]}, headers=maker)
        else:
            response = client.post("/api/v1/passports", json=body, headers=maker)
            if response.status_code == 201:
                issued.append(response.get_json()["id"])
        assert response.status_code in (201, 409), response.get_json()
    state = lot_state(client, polyester)
    assert 0 <= state["claimed_g"] <= state["mass_g"]
    with app.app_context(), db.engine().connect() as conn:
        size = conn.exec_driver_sql("SELECT size FROM ledger_head").scalar_one()
        balances = replay_lots(conn, "https://dpp.example.nl", size)
    assert balances.claimed[polyester["uri"]] == state["claimed_g"]
    assert sum(c["mass_g"] for c in state["claims"]) == state["claimed_g"]


def _bundle(client: FlaskClient, passport: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(client.get(f"/api/v1/passports/{passport}/bundle").data)
    return loaded


def _parts(bundle: dict[str, Any]) -> tuple[Any, ...]:
    """A verified bundle's own history, the entries about other passports, and its lots."""
    entries = [
        LoggedEntry(item["index"], body["kind"], body, b"")
        for item in bundle["entries"]
        if "credential" in (body := json.loads(item["entry"]))
    ]
    history = tuple(
        e for e in entries if e.kind != "lot:produced" and subject_of(e) == bundle["passport"]
    )
    linked = tuple(
        e for e in entries if e.kind != "lot:produced" and subject_of(e) != bundle["passport"]
    )
    lots = tuple(e for e in entries if e.kind == "lot:produced")
    return history, linked, lots


def test_bundles_of_a_recycled_and_a_claiming_passport_verify(
    client: FlaskClient, runner: FlaskCliRunner, lots: dict[str, Any]
) -> None:
    log_key = runner.invoke(args=["log-key"]).stdout.strip()
    maker = bearer(lots["orgs"]["maker"])
    polyester = lots["polyester"]
    first = client.post("/api/v1/passports", json=claiming(polyester["uri"], 900), headers=maker)
    second = client.post("/api/v1/passports", json=claiming(polyester["id"], 600), headers=maker)
    assert first.status_code == second.status_code == 201
    bundle = _bundle(client, first.get_json()["id"])
    verified = verify_bundle(bundle, log_key=log_key)
    _, linked, carried = _parts(bundle)
    assert [subject_of(e) for e in carried] == [polyester["uri"]]
    assert [subject_of(e) for e in linked] == [f"https://dpp.example.nl/{second.get_json()['id']}"]
    assert verified.state.status is Status.ACTIVE

    recycled_source = lot_state(client, polyester)["credential"]["credentialSubject"]["lot"]
    mattress = recycled_source["inputs"][0].removeprefix("https://dpp.example.nl/")
    recycled = verify_bundle(_bundle(client, mattress), log_key=log_key)
    assert recycled.state.status is Status.END_OF_LIFE
    assert len(_parts(_bundle(client, mattress))[2]) == 3


def test_a_claim_larger_than_the_lot_or_an_output_that_is_not_the_lot_is_refused(
    client: FlaskClient, lots: dict[str, Any]
) -> None:
    maker, polyester = bearer(lots["orgs"]["maker"]), lots["polyester"]
    issued = client.post("/api/v1/passports", json=claiming(polyester["uri"], 900), headers=maker)
    bundle = _bundle(client, issued.get_json()["id"])
    history, linked, carried = _parts(bundle)
    [lot] = carried
    smaller = json.loads(json.dumps(lot.body))
    smaller["credential"]["credentialSubject"]["lot"]["mass_g"] = 800
    with pytest.raises(LedgerInconsistent, match="overdrawn"):
        check_materials(bundle["passport"], history, linked, (replace(lot, body=smaller),))

    source = lot_state(client, polyester)["credential"]["credentialSubject"]["lot"]["inputs"][0]
    mattress = _bundle(client, source.removeprefix("https://dpp.example.nl/"))
    history, linked, carried = _parts(mattress)
    changed = json.loads(json.dumps(carried[0].body))
    changed["credential"]["credentialSubject"]["lot"]["mass_g"] += 1
    forged = (replace(carried[0], body=changed), *carried[1:])
    with pytest.raises(LedgerInconsistent, match="is not the lot it names"):
        check_materials(mattress["passport"], history, linked, forged)


def test_lineage_joins_remanufacture_recycling_and_claims(
    client: FlaskClient, lots: dict[str, Any]
) -> None:
    orgs = lots["orgs"]
    old = issue(client, orgs["maker"], "mattress")
    remade = record(client, orgs["remaker"], old, event("remanufacture")).get_json()
    new = remade["successor"]["id"]
    recycled = record(client, orgs["recycler"], new, event("recycle")).get_json()
    steel = next(lot for lot in recycled["lots"] if lot["material"] == "steel")
    product = client.post(
        "/api/v1/passports",
        json=claiming(steel["uri"], 300, "steel"),
        headers=bearer(orgs["maker"]),
    ).get_json()["id"]
    graph = client.get(f"/api/v1/passports/{old}/lineage").get_json()
    relations = {(e["from"], e["to"], e["relation"]) for e in graph["edges"]}
    assert (old, new, "remanufactured-into") in relations
    assert (new, steel["id"], "recycled-into") in relations
    assert (steel["id"], product, "drawn-into") in relations
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert nodes[old]["status"] == "superseded"
    assert nodes[new]["status"] == "end-of-life"
    assert nodes[steel["id"]]["remaining_g"] == steel["mass_g"] - 300
    indices = [node["ledger_index"] for node in graph["nodes"]]
    assert indices == sorted(indices)
    from_product = client.get(f"/api/v1/passports/{product}/lineage").get_json()
    assert {(e["from"], e["to"]) for e in from_product["edges"]} == {(steel["id"], product)}


def test_a_remanufacture_passes_the_claims_on_and_the_audit_agrees(
    client: FlaskClient, runner: FlaskCliRunner, lots: dict[str, Any]
) -> None:
    """The successor copies the predecessor's recycled content (its `changes` default): the
    grams pass to it, they are not claimed twice, and the log replays to the same balance."""
    orgs, steel = lots["orgs"], lots["steel"]
    body = example("mattress")
    body["product"]["recycled_content"] = [
        {"material": "steel", "share_percent": 25, "origin": "post_consumer",
         "lots": [{"lot_id": steel["uri"], "mass_g": 5500}]}
    ]  # fmt: skip
    old = client.post("/api/v1/passports", json=body, headers=bearer(orgs["maker"]))
    assert old.status_code == 201, old.get_json()
    assert lot_state(client, steel)["claimed_g"] == 5500
    remade = record(client, orgs["remaker"], old.get_json()["id"], event("remanufacture"))
    assert remade.status_code == 201, remade.get_json()
    state = lot_state(client, steel)
    assert state["claimed_g"] == 5500
    assert [c["passport"] for c in state["claims"]] == [remade.get_json()["successor"]["id"]]
    refused = client.post(
        f"/api/v1/passports/{old.get_json()['id']}/versions",
        json={"product": example("mattress")["product"]},
        headers=bearer(orgs["maker"]),
    )
    assert refused.status_code == 409
    result = run_audit(runner)
    assert result.exit_code == 0, result.output
    log_key = runner.invoke(args=["log-key"]).stdout.strip()
    for passport in (old.get_json()["id"], remade.get_json()["successor"]["id"]):
        verify_bundle(_bundle(client, passport), log_key=log_key)


def test_a_status_the_events_do_not_give_is_named_by_the_audit(
    app: Flask, runner: FlaskCliRunner, lots: dict[str, Any]
) -> None:
    sql(app, "UPDATE passport SET status = 'active' WHERE status = 'end-of-life'")
    result = run_audit(runner)
    assert result.exit_code == 1, result.output
    assert "its events make it end-of-life" in result.output
