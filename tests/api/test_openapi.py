"""The OpenAPI document: committed copy in sync, and a bounded schemathesis run finds no 5xx."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.specs.openapi.checks import ignored_auth

from tests.helpers import ROOT, bearer, example


def test_committed_openapi_matches_the_code(client: Any) -> None:
    served = client.get("/api/v1/openapi.json").get_json()
    committed = json.loads((ROOT / "schemas" / "openapi.json").read_text("utf-8"))
    assert served == committed, (
        "schemas/openapi.json is stale: run `dpp openapi write --format json schemas/openapi.json`"
    )


def test_api_never_fails_or_breaks_its_schema(fuzz_app: Flask) -> None:
    """Every operation, bounded examples: no 5xx, every response as documented."""
    # schemathesis.pytest.from_fixture does not run under pytest 9, so drive the strategies.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = bearer(fuzz_app.config["FUZZ_TOKEN"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    writes: list[int] = []  # the status of every write the run made

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            # Rules a schema cannot state (GTIN check digits, fibre sums, role rules) refuse
            # some schema-valid bodies with a documented 4xx, so that one check is left out.
            response = case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance]
            )
            if case.method.upper() != "GET":
                writes.append(response.status_code)

        check()

    # The writes were made as the maker: none refused for its token, so they reached the
    # code behind the authentication (a 401 there is documented and would pass the checks).
    assert writes, "the run made no writes"
    assert 401 not in writes, f"{writes.count(401)} of {len(writes)} writes answered 401"


def test_api_statefully_never_fails_or_breaks_its_schema(fuzz_app: Flask) -> None:
    """Chains of calls linked by what they return (schemathesis infers the links: an issued
    passport's id is read, corrected and bundled): no 5xx, every response as documented, and
    the chains reach real passports, not only 404s for random ids."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = bearer(fuzz_app.config["FUZZ_TOKEN"])
    reached: list[str] = []  # "METHOD path-template status" of every call
    machine = schema.as_state_machine()

    class Chains(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            # Random bodies almost never pass the rules a schema cannot state, so every other
            # issuance is a real one (an example with a fresh serial): the chains then start
            # from passports that exist, as the stateful guide of schemathesis suggests.
            # The maker's token replaces the one schemathesis made up (test_errors covers
            # missing and wrong tokens), so its ignored_auth check is left out below.
            case.headers = {**(case.headers or {}), **headers}
            # A drawn Idempotency-Key (say "0") comes back in later examples, where the service
            # rightly answers it with the first use's result: replays of an example would then
            # meet other answers, which hypothesis reports as a flaky strategy. Each call here
            # uses a key of its own (tests/api/test_idempotency.py covers the replays).
            for name in [n for n in case.headers if n.lower() == "idempotency-key"]:
                case.headers[name] = uuid.uuid4().hex
            # A passport id is a path of several segments (01/{gtin}/21/{serial}), which an
            # OpenAPI path parameter cannot hold: schemathesis sends an id taken from a
            # response percent-encoded as one segment. A client uses the id as it is.
            linked = (case.path_parameters or {}).get("passport_id", "")
            if linked.startswith("01%2F"):
                case.path_parameters["passport_id"] = unquote(linked)
            # Decided by the drawn body alone (a replay must decide the same way): half of the
            # object bodies, by their number of members.
            drawn = case.body if isinstance(case.body, dict) else None
            if case.operation.path == "/api/v1/passports" and drawn and len(drawn) % 2 == 0:
                category = ("textile", "mattress")[len(drawn) % 4 // 2]
                serial = uuid.uuid4().hex[:20].upper()  # fresh: each of these is issued
                case.body = {**example(category), "serial": serial}
            # Likewise every other event is a real one the maker may record (custody to a
            # consumer, or placing its product on the market: once, then a 409).
            events = "/api/v1/passports/{passport_id}/events"
            if case.operation.path == events and drawn and len(drawn) % 2 == 0:
                kind = ("transfer", "place-on-market")[len(drawn) % 4 // 2]
                case.body = example(f"events/{kind}")

        def after_call(self, response: Any, case: Any) -> None:
            reached.append(f"{case.method.upper()} {case.operation.path} {response.status_code}")

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            # As above: rules a schema cannot state refuse some schema-valid bodies (4xx).
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[positive_data_acceptance, ignored_auth],
                transport_kwargs=kwargs or None,
            )

    Chains.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Links were followed to passports that exist: a read or a correction of one succeeded.
    linked = {
        "GET /passports/{passport_id} 200",
        "POST /passports/{passport_id}/versions 201",
        "POST /passports/{passport_id}/events 201",
        "GET /passports/{passport_id}/history 200",
    }
    print(sorted(set(reached)))
    assert linked & {call.replace("/api/v1", "", 1) for call in reached}, sorted(set(reached))
