"""The lifecycle pages: languages, tiers by who is signed in, safety, sign-in, scan to record."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from passport.services.orgs import users
from tests.helpers import create_org, example
from tests.web.helpers import csrf_of, issue, org_with_user, record, sign_in

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
NOTE = "Torn edge binding replaced; small moth hole darned."  # legitimate_interest
FACILITY = "Hersteldienst Arnhem"  # legitimate_interest (event facility)
DISASSEMBLY = "Unpick the polyester binding with a seam ripper."  # legitimate_interest
COMPLIANCE = "OEKO-TEX STANDARD 100 certificate"  # authority
RESTRICTED = (NOTE, FACILITY, DISASSEMBLY, COMPLIANCE)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords cheaply here: the tests are about the pages, not argon2's cost."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def lived(client: FlaskClient, runner: FlaskCliRunner) -> str:
    """A blanket with 20 credentials: issued, then 19 repairs."""
    passport = issue(client, create_org(runner, "weverij", "manufacturer"))
    repairer = create_org(runner, "repairer", "repairer")
    for _ in range(18):
        answer = client.post(
            f"/api/v1/passports/{passport}/events",
            json=example("events/repair"),
            headers={"Authorization": f"Bearer {repairer}"},
        )
        assert answer.status_code == 201
    record(client, repairer, passport, example("events/repair"))
    return passport


def _text(client: FlaskClient, path: str, **headers: str) -> str:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.data[:500]
    return unescape(answer.get_data(as_text=True))


def test_languages_by_query_and_by_browser(client: FlaskClient, lived: str) -> None:
    dutch = _text(client, f"/{lived}?lang=nl")
    assert '<html lang="nl">' in dutch
    for words in ("Waarvan het is gemaakt", "De levenscyclus tot nu toe", "Gerepareerd", "wol"):
        assert words in dutch
    assert "Handtekening geverifieerd" in dutch
    assert "What it is made of" not in dutch
    english = _text(client, f"/{lived}?lang=en")
    assert '<html lang="en">' in english
    for words in ("What it is made of", "Its life so far", "Repaired", "Signature verified"):
        assert words in english
    assert "Waarvan het is gemaakt" not in english
    assert '<html lang="nl">' in _text(client, f"/{lived}", **{"Accept-Language": "nl-NL,nl;q=0.9"})
    assert '<html lang="en">' in _text(client, f"/{lived}", **{"Accept-Language": "de-DE,fr"})
    switch = re.findall(r'href="([^"]+)" hreflang="(nl|en)"', dutch)
    assert {lang for _, lang in switch} == {"nl", "en"}
    assert all(f"/{lived}?" in unescape(href) for href, _ in switch)


def test_twenty_events_every_one_marked_and_small(client: FlaskClient, lived: str) -> None:
    answer = client.get(f"/{lived}?lang=en")
    page = answer.get_data(as_text=True)
    assert page.count('class="credential"') == 20
    assert page.count('class="mark ok"') == 20
    assert len(answer.data) < 100_000
    assert "R4 repair — R-ladder of RVO and CBS (10 steps)" in unescape(page)


def test_an_anonymous_reader_sees_no_restricted_value(client: FlaskClient, lived: str) -> None:
    page = _text(client, f"/{lived}?lang=en")
    for value in RESTRICTED:
        assert value not in page


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("recycler", (NOTE, FACILITY, DISASSEMBLY), (COMPLIANCE,)),
        ("repairer", (NOTE, FACILITY, DISASSEMBLY), (COMPLIANCE,)),
        ("auditor", RESTRICTED, ()),
    ],
)
def test_signed_in_readers_see_their_tiers(
    client: FlaskClient,
    runner: FlaskCliRunner,
    lived: str,
    role: str,
    shown: tuple[str, ...],
    hidden: tuple[str, ...],
) -> None:
    _, email = org_with_user(runner, f"{role}-org", role)
    assert sign_in(client, email).status_code == 303
    page = _text(client, f"/{lived}?lang=en")
    for value in shown:
        assert value in page
    for value in hidden:
        assert value not in page
    # An auditor also gets the restricted credentials as they were signed, proofs and all.
    signed = page.count('"cryptosuite":"eddsa-jcs-2022"')
    assert signed == (0 if role != "auditor" else 19 + 2)  # each repair's, the version's two


def test_hostile_names_and_notes_are_text(client: FlaskClient, runner: FlaskCliRunner) -> None:
    body = example("textile")
    body["product"]["name"] = HOSTILE
    passport = issue(client, create_org(runner, "weverij", "manufacturer"))
    passport = issue(client, create_org(runner, "weverij2", "manufacturer"), body)
    token, email = org_with_user(runner, "repairer", "repairer")
    record(client, token, passport, example("events/repair") | {"note": HOSTILE})
    sign_in(client, email)
    for path in (f"/{passport}?lang=en", "/"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page
        assert "<img src=x" not in page
    page = client.get(f"/{passport}?lang=en").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_pages_carry_security_headers_and_no_cookie(client: FlaskClient, lived: str) -> None:
    for path in (f"/{lived}", "/", "/api/v1/docs", "/01/09506000134352"):
        answer = client.get(path, headers={"Accept": "text/html"})
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"]
        assert "Set-Cookie" not in answer.headers, path
    page = client.get(f"/{lived}").get_data(as_text=True)
    assert "<script>" not in page
    assert " style=" not in page
    assert re.search(r'src="(?!/static/)', page) is None


def test_a_form_post_without_csrf_token_is_refused(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    bare = client.post("/login", data={"email": email, "password": "correct horse battery staple"})
    assert bare.status_code == 400
    assert sign_in(client, email).status_code == 303
    before = client.get(f"/api/v1/passports/{lived}/events").get_json()
    forged = client.post(f"/record/{lived}", data={"kind": "sort", "mass_in_g": "1000"})
    assert forged.status_code == 400
    assert client.get(f"/api/v1/passports/{lived}/events").get_json() == before


def test_ten_wrong_passwords_are_throttled(client: FlaskClient, runner: FlaskCliRunner) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    statuses = [sign_in(client, email, "wrong password!").status_code for _ in range(10)]
    assert statuses[0] == 401
    assert 429 in statuses
    answer = sign_in(client, email)  # the right password, too soon
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0


def test_session_cookie_is_http_only_and_same_site(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    cookie = sign_in(client, email).headers["Set-Cookie"]
    assert client.application.config["DPP_BASE_URL"].startswith("https://")
    assert cookie.startswith("dpp_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # the base URL is https://


def test_a_recycler_records_recycling_from_the_page(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    sign_in(client, email)
    page = _text(client, f"/{lived}?lang=en")
    assert f"/record/{lived}" in page
    form = _text(client, f"/record/{lived}?lang=en")
    assert 'value="recycle"' in form
    assert 'value="repair"' not in form  # not the recycler's to record
    fields = {
        "csrf_token": csrf_of(client, f"/record/{lived}"),
        "nonce": "n1",
        "kind": "recycle",
        "occurred_at": "2026-12-01T10:00",
        "mass_in_g": "1200",
        "material": "polyester",
        "output_g": "1000",
        "gtin": "08712348000018",
        "note": "Bale 17",
    }
    answer = client.post(f"/record/{lived}?lang=en", data=fields)
    assert answer.status_code == 303, answer.data[:800]
    assert answer.headers["Location"] == f"/{lived}?lang=en#timeline-title"
    again = client.post(f"/record/{lived}?lang=en", data=fields)  # a double tap
    assert again.status_code == 303
    after = _text(client, f"/{lived}?lang=en")
    assert after.count('class="credential"') == 21
    assert after.count('class="mark ok"') == 21
    assert "Recycled" in after
    assert "End of life" in after
    assert "Bale 17" in after
    history = client.get(f"/api/v1/passports/{lived}/events").get_json()
    assert [e["kind"] for e in history["events"]].count("event:recycle") == 1


def test_a_bad_form_says_why_and_records_nothing(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    sign_in(client, email)
    fields = {
        "csrf_token": csrf_of(client, f"/record/{lived}"),
        "kind": "recycle",
        "occurred_at": "2026-12-01T10:00",
        "mass_in_g": "1000",
        "material": "polyester",
        "output_g": "5000",
        "gtin": "08712348000018",
    }
    answer = client.post(f"/record/{lived}?lang=en", data=fields)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.get_data(as_text=True)
    fields["kind"] = "no-such-kind"
    assert client.post(f"/record/{lived}", data=fields).status_code == 422


def test_the_form_needs_someone_signed_in_who_may_record(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    assert client.get(f"/record/{lived}", headers={"Accept": "text/html"}).status_code == 401
    _, email = org_with_user(runner, "auditor", "auditor")
    sign_in(client, email)
    assert client.get(f"/record/{lived}", headers={"Accept": "text/html"}).status_code == 403


def test_a_collector_scans_many(client: FlaskClient, runner: FlaskCliRunner) -> None:
    maker = create_org(runner, "weverij", "manufacturer")
    passports = [issue(client, maker) for _ in range(3)]
    _, email = org_with_user(runner, "collector", "collector")
    sign_in(client, email)
    codes = [f"https://dpp.example.nl/{passports[0]}", passports[1], passports[2], "01/0000"]
    fields = {
        "csrf_token": csrf_of(client, "/scan"),
        "kind": "collect",
        "occurred_at": "2026-12-01T10:00",
        "mass_in_g": "1200",
        "codes": "\n".join(codes),
    }
    answer = client.post("/scan?lang=en", data=fields)
    assert answer.status_code == 200
    page = unescape(answer.get_data(as_text=True))
    assert page.count("recorded (#") == 3
    assert "not recorded" in page
    for passport in passports:
        events = client.get(f"/api/v1/passports/{passport}/events").get_json()["events"]
        assert [e["kind"] for e in events] == ["event:collect"]


def test_start_page_and_api_docs(client: FlaskClient, lived: str) -> None:
    start = _text(client, "/?lang=en")
    assert f'href="/{lived}?lang=en"' in start
    assert "/ledger/checkpoint" in start
    assert "/api/v1/docs" in start
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "/api/v1/openapi.json" in docs.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/api/v1/docs/assets/[^"]+)"', docs.get_data(as_text=True))
    assert len(assets) == 2
    for asset in assets:
        answer = client.get(asset)
        answer.close()
        assert answer.status_code == 200
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404


def test_a_kept_page_changes_with_its_passport(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    before = client.get(f"/{lived}?lang=en").get_data(as_text=True)
    assert client.get(f"/{lived}?lang=en").get_data(as_text=True) == before  # kept
    collector = create_org(runner, "collector", "collector")
    record(client, collector, lived, example("events/collect"))
    after = client.get(f"/{lived}?lang=en").get_data(as_text=True)
    assert after.count('class="credential"') == 21
    assert "Collected" in after
    assert client.get(f"/{lived}?lang=nl").get_data(as_text=True).count('class="credential"') == 21


def test_a_revoked_key_changes_the_marks_of_what_it_signed_after(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    """A revocation is a key entry of the log: the marks (and the kept page) follow it."""
    assert client.get(f"/{lived}?lang=en").get_data(as_text=True).count('class="mark ok"') == 20
    history = client.get(f"/api/v1/passports/{lived}/history").get_json()["entries"]
    tenth = history[10]["ledger_index"]
    listed = runner.invoke(args=["key", "list", "repairer"]).output
    key_id = re.search(r"^(\S+)\s+current", listed, re.M)
    assert key_id is not None, listed
    revoked = runner.invoke(
        args=["key", "revoke", "repairer", key_id.group(1), "--compromised-since", str(tenth)]
    )
    assert revoked.exit_code == 0, revoked.output
    page = unescape(client.get(f"/{lived}?lang=en").get_data(as_text=True))
    assert page.count('class="mark ok"') == 10  # the issue and the nine repairs before
    assert page.count('class="mark bad"') == 10
    assert f"compromised since {tenth}" in page
    # Each of the repairer's credentials names the entry that revoked its key, for the browser.
    revocation = re.findall(r'data-key-revoked-index="(\d+)"', page)
    assert len(revocation) == 19
    assert len(set(revocation)) == 1
    assert int(revocation[0]) > history[-1]["ledger_index"]


def test_signing_out_ends_every_copy_of_the_session(
    client: FlaskClient, runner: FlaskCliRunner, lived: str
) -> None:
    _, email = org_with_user(runner, "recycler", "recycler")
    sign_in(client, email)
    cookie = client.get_cookie("dpp_session")
    assert cookie is not None
    assert client.get("/scan").status_code == 200  # a recycler sorts in series
    thief = client.application.test_client()
    thief.set_cookie("dpp_session", cookie.value, domain=cookie.domain or "localhost")
    assert thief.get("/scan").status_code == 200  # the copy works while the session lasts
    token = csrf_of(client, f"/{lived}?lang=en")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    for path in (f"/record/{lived}", "/scan"):
        assert thief.get(path, headers={"Accept": "text/html"}).status_code == 401
    assert "Bale" not in thief.get(f"/{lived}?lang=en").get_data(as_text=True)


def test_scan_many_answers_once_per_code_and_the_same_to_a_retry(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    maker = create_org(runner, "weverij", "manufacturer")
    passports = [issue(client, maker) for _ in range(2)]
    _, email = org_with_user(runner, "collector", "collector")
    sign_in(client, email)
    fields = {
        "csrf_token": csrf_of(client, "/scan"),
        "nonce": "scan-1",
        "kind": "collect",
        "occurred_at": "2026-12-01T10:00",
        "mass_in_g": "1200",
        "codes": "\n".join(passports),
    }
    first = unescape(client.post("/scan?lang=en", data=fields).get_data(as_text=True))
    again = unescape(client.post("/scan?lang=en", data=fields).get_data(as_text=True))
    for page in (first, again):
        assert page.count("recorded (#") == 2
        for passport in passports:
            assert page.count(passport) == 1
    events = client.get(f"/api/v1/passports/{passports[0]}/events").get_json()["events"]
    assert len(events) == 1


def test_scan_many_records_only_kinds_scanned_in_series(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    passport = issue(client, create_org(runner, "weverij", "manufacturer"))
    _, email = org_with_user(runner, "both", "collector", "repairer")
    sign_in(client, email)
    fields = {
        "csrf_token": csrf_of(client, "/scan"),
        "kind": "repair",
        "condition": "good",
        "occurred_at": "2026-12-01T10:00",
        "codes": passport,
    }
    assert client.post("/scan", data=fields).status_code == 422
    assert client.get(f"/api/v1/passports/{passport}/events").get_json()["events"] == []


def test_error_pages_speak_the_readers_language(client: FlaskClient) -> None:
    dutch = unescape(client.get("/01/09506000134352?lang=nl").get_data(as_text=True))
    assert "Dit product of deze pagina kennen we niet" in dutch
    assert '<html lang="nl">' in dutch
    english = unescape(client.get("/01/abc?lang=en").get_data(as_text=True))
    assert "This is not a valid product code or request" in english


def test_the_form_offers_only_what_the_passports_state_allows(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    token, email = org_with_user(runner, "weverij", "manufacturer")
    passport = issue(client, token)
    sign_in(client, email)
    assert 'value="place-on-market"' in _text(client, f"/record/{passport}")
    record(client, token, passport, example("events/place-on-market"))
    form = _text(client, f"/record/{passport}")
    assert 'value="place-on-market"' not in form  # placed once, never again
    assert 'value="transfer"' in form
    recycler = create_org(runner, "recycler", "recycler")
    record(client, recycler, passport, example("events/end-of-life"))
    assert "/record/" not in _text(client, f"/{passport}?lang=en")  # its life has ended
    ended = client.get(f"/record/{passport}", headers={"Accept": "text/html"})
    assert ended.status_code == 403
