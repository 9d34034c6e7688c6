"""The GS1-Conformant resolver: syntax, fallback, content negotiation, linksets, CORS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import BASE_URL as BASE
from tests.helpers import bearer, create_org, example
from tests.web.helpers import issue

SCHEMA = json.loads(
    (
        Path(__file__).parents[1] / "conformance/vectors/gs1-linkset/gs1-linkset-schema.json"
    ).read_text()
)


@pytest.fixture
def passport(client: FlaskClient, runner: FlaskCliRunner) -> str:
    """An item passport of the textile example."""
    return issue(client, create_org(runner, "weverij", "manufacturer"))


def _linkset_valid(body: Any) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(body)


def test_the_vendored_schema_tells_valid_from_invalid() -> None:
    folder = Path(__file__).parents[1] / "conformance/vectors/gs1-linkset"
    _linkset_valid(json.loads((folder / "valid-gs1-example.json").read_text()))
    with pytest.raises(jsonschema.ValidationError):
        _linkset_valid(json.loads((folder / "invalid-gs1-example.json").read_text()))


def test_html_for_browsers(client: FlaskClient, passport: str) -> None:
    answer = client.get(f"/{passport}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert "Twentse wollen deken" in answer.get_data(as_text=True)
    assert answer.headers["Link"].endswith('rel="linkset"; type="application/linkset+json"')
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_json_ld_is_the_public_credential(client: FlaskClient, passport: str) -> None:
    answer = client.get(f"/{passport}", headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200
    assert answer.mimetype == "application/ld+json"
    api = client.get(f"/api/v1/passports/{passport}").get_json()
    assert answer.get_json() == api["credential"]
    assert "restricted" not in answer.get_json()
    assert "linkset" in answer.headers["Link"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?linkType=linkset", {}),
        ("", {"Accept": "application/linkset+json"}),
        ("?linkType=all", {}),
    ],
)
def test_linkset_by_negotiation_validates(
    client: FlaskClient, passport: str, query: str, headers: dict[str, str]
) -> None:
    answer = client.get(f"/{passport}{query}", headers=headers)
    assert answer.status_code == 200
    assert answer.mimetype == "application/linkset+json"
    body = answer.get_json()
    _linkset_valid(body)
    (context,) = body["linkset"]
    assert context["anchor"] == f"{BASE}/{passport}"
    for rel in ("pip", "sustainabilityInfo", "certificationInfo", "dpp", "defaultLink"):
        links = context[f"https://gs1.org/voc/{rel}"]
        assert all(link["href"].startswith(BASE + "/") for link in links)
        assert all(link["title"] for link in links)
    languages = {tuple(link["hreflang"]) for link in context["https://gs1.org/voc/pip"]}
    assert languages == {("en",), ("nl",)}
    assert context["https://gs1.org/voc/dpp"][0]["href"].endswith(f"/api/v1/passports/{passport}")


@pytest.mark.parametrize(
    ("link_type", "target"),
    [
        ("gs1:dpp", "/api/v1/passports/{id}"),
        ("https://gs1.org/voc/sustainabilityInfo", "/api/v1/passports/{id}/lineage"),
        ("gs1:certificationInfo", "/api/v1/passports/{id}/bundle"),
        ("gs1:epcis", "/api/v1/passports/{id}/events.epcis"),
        ("gs1:noSuchType", "/{id}"),  # falls back to the default link
    ],
)
def test_link_type_redirects_to_that_link(
    client: FlaskClient, passport: str, link_type: str, target: str
) -> None:
    answer = client.get(f"/{passport}", query_string={"linkType": link_type})
    assert answer.status_code == 307
    assert answer.headers["Location"] == BASE + target.format(id=passport)
    followed = client.get(answer.headers["Location"])
    assert followed.status_code == 200


def test_pip_in_dutch_for_a_dutch_reader(client: FlaskClient, passport: str) -> None:
    answer = client.get(f"/{passport}?linkType=gs1:pip", headers={"Accept-Language": "nl"})
    assert answer.headers["Location"].endswith(f"/{passport}?lang=nl")


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        ("/01/08712345678907", "check digit"),
        ("/01/08712345678906/21", "not a GS1 Digital Link path"),
        ("/01/abc", "GTIN"),
        ("/01/08712345678906/21/X/10/L", "order"),
        ("/01/08712345678906/99/X", "order"),
        ("/01/08712345678906/21/%FF", "gs1"),
    ],
)
def test_bad_syntax_or_check_digit_is_400(client: FlaskClient, path: str, fault: str) -> None:
    answer = client.get(path, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert fault.lower() in json.dumps(problem).lower()
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert page.mimetype == "text/html"


def test_unknown_product_is_404_never_200(client: FlaskClient, passport: str) -> None:
    assert client.get("/01/09506000134352").status_code == 404
    unknown = client.get("/01/09506000134352", headers={"Accept": "application/json"})
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"


def test_item_falls_back_to_batch_then_model(client: FlaskClient, runner: FlaskCliRunner) -> None:
    token = create_org(runner, "weverij", "manufacturer")
    model = example("textile") | {"granularity": "model"}
    model.pop("lot", None)
    model_id = issue(client, token, model)
    assert model_id == "01/08712345678906"
    answer = client.get("/01/08712345678906/10/NOPE/21/NOPE?lang=nl&x=1")
    assert answer.status_code == 307
    assert answer.headers["Location"] == "/01/08712345678906?lang=nl&x=1"
    batch = example("textile") | {"granularity": "batch", "lot": "B1"}
    batch_id = issue(client, token, batch)
    fallback = client.get("/01/08712345678906/10/B1/21/NOPE")
    assert fallback.status_code == 307
    assert fallback.headers["Location"] == f"/{batch_id}"


def test_short_gtin_redirects_to_gtin_14(client: FlaskClient, passport: str) -> None:
    short = "/" + passport.replace("01/08712345678906", "01/8712345678906") + "?lang=en"
    answer = client.get(short)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"/{passport}?lang=en"


def test_head_and_options_and_cors(client: FlaskClient, passport: str) -> None:
    head = client.head(f"/{passport}")
    assert head.status_code == 200
    assert head.data == b""
    assert "linkset" in head.headers["Link"]
    options = client.options(f"/{passport}", headers={"Origin": "https://example.org"})
    assert options.status_code == 200
    assert {"GET", "HEAD", "OPTIONS"} <= set(options.headers["Allow"].split(", "))
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in options.headers["Access-Control-Allow-Methods"]


def test_resolver_description(client: FlaskClient) -> None:
    answer = client.get("/.well-known/gs1resolver")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["resolverRoot"] == BASE
    assert body["supportedPrimaryKeys"] == ["01"]
    assert body["linkTypeDefaultCanBeLinkset"] is True


def test_material_lots_resolve_the_same_way(client: FlaskClient, runner: FlaskCliRunner) -> None:
    passport = issue(client, create_org(runner, "weverij", "manufacturer"))
    recycler = create_org(runner, "recycler", "recycler")
    answer = client.post(
        f"/api/v1/passports/{passport}/events",
        json=example("events/recycle") | {"mass_in_g": 22000},
        headers=bearer(recycler),
    )
    assert answer.status_code == 201, answer.get_json()
    lot = answer.get_json()["lots"][0]["id"]
    page = client.get(f"/{lot}?lang=en")
    assert page.status_code == 200
    assert "steel" in page.get_data(as_text=True)
    credential = client.get(f"/{lot}", headers={"Accept": "application/ld+json"}).get_json()
    assert credential["credentialSubject"]["id"] == f"{BASE}/{lot}"
    links = client.get(f"/{lot}?linkType=linkset").get_json()
    _linkset_valid(links)
    assert client.get(f"/{lot}?linkType=gs1:dpp").headers["Location"].endswith(f"/lots/{lot}")


def test_a_serial_holding_a_slash_resolves(client: FlaskClient, runner: FlaskCliRunner) -> None:
    token = create_org(runner, "weverij", "manufacturer")
    passport = issue(client, token, example("textile") | {"serial": "A/B"})
    assert passport.endswith("/21/A%2FB")
    answer = client.get(f"/{passport}", headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200
    assert answer.get_json()["credentialSubject"]["id"] == f"{BASE}/{passport}"


@pytest.mark.parametrize("path", ["/01/12345670/10/%FF", "/01/12345670/99/x", "/01/12345670/21"])
def test_a_short_gtin_with_a_bad_rest_is_400_not_a_redirect(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 400
