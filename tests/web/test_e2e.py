"""End to end on a phone: scan the QR code, read the lifecycle page, sign in, record recycling.

Everything runs against the real app served over HTTP (`live_server`) in Debian's Chromium,
with a phone's viewport and touch. The passport and its history are written through the
Flask test client before the browser opens, the last write waiting for a checkpoint, so that
every credential on the page can be re-checked in the browser (verify.js). axe-core checks
the pages a reader and a recycler see; no violation may be serious or critical.

Screenshots of each step are kept as test artefacts: under `$DPP_ARTEFACTS/e2e` when
DPP_ARTEFACTS is set, else in a pytest temporary folder; the folder is printed.
"""

from __future__ import annotations

import io
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

from tests.helpers import bearer, create_org, example
from tests.web.helpers import PASSWORD, org_with_user

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route

OK_EN = "Checked in your browser"
OK_NL = "Gecontroleerd in uw browser"
FAILED_EN = "Check in your browser failed"
TIMEOUT_MS = 10_000
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}
SETTLED = """() => {
    const checks = [...document.querySelectorAll('.browser-check')];
    return checks.length > 0 && checks.every(
        (c) => ['ok', 'failed', 'unsupported'].includes(c.dataset.state));
}"""
# Every CSP violation of every page the context opens, reported to Python (`phone.csp`).
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) => window.cspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
));"""
CHECKS = "(all) => all.map((c) => ({state: c.dataset.state, text: c.textContent}))"
SERIOUS = ("serious", "critical")
RECYCLER_GTIN = "08712348000018"  # GS1 company prefix 8712348 (tests.helpers.create_org)


@dataclass(frozen=True)
class Story:
    """What the test client wrote before the browser opens."""

    passport: str
    recycler_email: str
    issued_index: int
    repaired_index: int


@dataclass
class Phone:
    """A page in a fresh phone-sized browser context, with what its console said."""

    page: Page
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        """Keep every console message; errors separately (but the favicon's 404)."""
        self.console.append(f"{message.type}: {message.text} ({message.location['url']})")
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.errors.append(message.text)


@pytest.fixture(scope="module")
def story(live_app: Flask, live_server: str) -> Story:
    """A maker issues the textile example, a repairer repairs it; a recycler can sign in.

    The organisations come first and the repair is the last write, waiting for a checkpoint,
    so that the checkpoint covers everything the page shows.
    """
    del live_server  # started before any write: the browser tests need it anyway
    runner = live_app.test_cli_runner()
    maker = create_org(runner, "weverij", "manufacturer")
    repairer = create_org(runner, "repairer", "repairer")
    _token, email = org_with_user(runner, "recycler", "recycler")
    client = live_app.test_client()
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    assert issued.status_code == 201, issued.get_json()
    passport: str = issued.get_json()["id"]
    repaired = client.post(
        f"/api/v1/passports/{passport}/events?wait=checkpoint",
        json=example("events/repair"),
        headers=bearer(repairer),
    )
    assert repaired.status_code == 201, repaired.get_json()
    body = repaired.get_json()
    assert body["inclusion"]["tree_size"] > body["ledger_index"], body
    return Story(passport, email, issued.get_json()["ledger_index"], body["ledger_index"])


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the screenshots go to (printed, so that a run's log names it)."""
    configured = os.environ.get("DPP_ARTEFACTS")
    if configured:
        folder = Path(configured) / "e2e"
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("e2e")
    print(f"\ne2e screenshots: {folder.resolve()}")
    return folder


@pytest.fixture
def phone(browser: Browser) -> Iterator[Phone]:
    """A page in a fresh phone-sized context (own cookies), closed after the test."""
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        found = Phone(page)
        context.expose_function("cspViolation", lambda text: found.csp.append(text))
        context.add_init_script(CSP_LISTENER)
        page.on("console", found.record)
        page.on("pageerror", lambda error: found.errors.append(f"page error: {error}"))
        yield found
    finally:
        context.close()


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save a full-page screenshot `name`.png in the artefacts folder."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def checks(page: Page) -> list[dict[str, str]]:
    """Wait until every credential's browser check has an outcome; return state and text."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)
    found: list[dict[str, str]] = page.eval_on_selector_all(".browser-check", CHECKS)
    return found


def accessible(page: Page, what: str) -> None:
    """Run axe-core on the page; fail on any serious or critical violation, printing all."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    if violations:
        print(f"\naxe on {what} ({page.url}):\n{results.generate_report()}")
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"axe on {what}:\n" + "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in serious
    )


def qr_url(live_server: str, passport: str) -> str:
    """Fetch the passport's QR code over HTTP and return the one URL it encodes."""
    import zxingcpp
    from PIL import Image

    with urllib.request.urlopen(f"{live_server}/api/v1/passports/{passport}/qr.png") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "image/png"
        png = answer.read()
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, codes
    assert codes[0].format == zxingcpp.BarcodeFormat.QRCode
    text: str = codes[0].text
    return text


def test_the_qr_code_opens_the_page_in_english_and_dutch(
    phone: Phone, story: Story, live_server: str, artefacts: Path
) -> None:
    page = phone.page
    url = qr_url(live_server, story.passport)
    assert url == f"{live_server}/{story.passport}"
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "en"
    credentials = page.locator("article.credential").count()
    assert credentials >= 2  # the issuance and the repair (and recycling, once recorded)
    assert checks(page) == [{"state": "ok", "text": OK_EN}] * credentials
    shoot(page, artefacts, "01-page-en")
    accessible(page, "the lifecycle page, anonymous")

    page.locator("nav.lang").get_by_role("link", name="Nederlands").tap()
    page.wait_for_selector('html[lang="nl"]')
    assert page.get_by_role("heading", name="De levenscyclus tot nu toe").is_visible()
    assert page.locator(".who").get_by_role("link", name="Inloggen").is_visible()
    assert checks(page) == [{"state": "ok", "text": OK_NL}] * credentials
    shoot(page, artefacts, "02-page-nl")
    accessible(page, "the lifecycle page in Dutch")

    page.locator("nav.lang").get_by_role("link", name="English").tap()
    page.wait_for_selector('html[lang="en"]')
    assert page.get_by_role("heading", name="Its life so far").is_visible()
    assert checks(page) == [{"state": "ok", "text": OK_EN}] * credentials
    assert not phone.errors, phone.console
    assert not phone.csp, phone.csp


def test_a_changed_entry_fails_that_credential_only(
    phone: Phone, story: Story, live_server: str, artefacts: Path
) -> None:
    page = phone.page

    def one_character(route: Route) -> None:
        response = route.fetch()
        body = response.body()
        # A hex digit of the credential's id (urn:uuid:…), inside the credential's JSON.
        at = body.index(b"urn:uuid:", body.index(b'"credential"')) + len("urn:uuid:")
        changed = body[:at] + (b"1" if body[at : at + 1] == b"0" else b"0") + body[at + 1 :]
        route.fulfill(response=response, body=changed)

    page.route(f"{live_server}/ledger/entries/{story.repaired_index}", one_character)
    page.goto(f"{live_server}/{story.passport}")
    indexes = page.eval_on_selector_all(
        "article.credential", "(all) => all.map((a) => Number(a.dataset.entryIndex))"
    )
    found = dict(zip(indexes, checks(page), strict=True))
    shoot(page, artefacts, "03-page-tampered")
    assert found.pop(story.repaired_index) == {
        "state": "failed",
        "text": f"{FAILED_EN}: the entry differs from the one the log holds",
    }
    assert story.issued_index in found
    assert all(check == {"state": "ok", "text": OK_EN} for check in found.values()), found
    assert not phone.csp, phone.csp


def test_a_recycler_signs_in_and_records_recycling(
    phone: Phone, story: Story, live_server: str, artefacts: Path
) -> None:
    page = phone.page
    passport_url = f"{live_server}/{story.passport}"
    page.goto(passport_url)
    assert page.get_by_role("link", name="Record what you did").count() == 0  # not signed in

    page.locator(".who").get_by_role("link", name="Sign in").tap()
    page.wait_for_url(f"{live_server}/login?**")
    accessible(page, "the sign-in form")
    page.get_by_label("Email address").fill(story.recycler_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").tap()
    page.wait_for_url(f"{passport_url}**")
    assert page.locator(".who").get_by_text(story.recycler_email).is_visible()
    assert all(check["state"] == "ok" for check in checks(page))
    accessible(page, "the lifecycle page, signed in")
    shoot(page, artefacts, "04-page-signed-in")

    page.get_by_role("link", name="Record what you did").tap()
    page.wait_for_url(f"{live_server}/record/{story.passport}**")
    accessible(page, "the record form")
    page.get_by_label("Recycled", exact=True).check()
    page.get_by_label("Mass (g)").fill("1200")
    page.get_by_label("Material", exact=True).select_option("polyester")
    page.get_by_label("Mass of the lot (g)").fill("1000")
    page.get_by_label("GTIN of the material").fill(RECYCLER_GTIN)
    shoot(page, artefacts, "05-form-filled")
    page.get_by_role("button", name="Sign and record").tap()

    page.wait_for_url(f"{passport_url}*#timeline-title")
    recycled = page.locator("article.credential", has=page.locator("h3", has_text="Recycled"))
    assert recycled.count() == 1
    assert "Signature verified" in recycled.locator("p.mark.ok").inner_text()
    assert page.locator(".status").inner_text() == "End of life"
    assert checks(page) == [{"state": "ok", "text": OK_EN}] * 3
    assert recycled.locator(".browser-check").get_attribute("data-state") == "ok"
    assert page.get_by_role("link", name="Record what you did").count() == 0  # at its end
    shoot(page, artefacts, "06-page-recorded")
    assert not phone.errors, phone.console
    assert not phone.csp, phone.csp


def test_the_api_docs_render_swagger_ui_under_the_csp(
    phone: Phone, live_server: str, artefacts: Path
) -> None:
    page = phone.page
    page.goto(f"{live_server}/api/v1/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(state="visible")
    shoot(page, artefacts, "07-api-docs")
    assert "Product passport ledger" in title.inner_text()
    assert page.locator(".swagger-ui .opblock").count() > 0, "the operations are listed"
    blocked = [m for m in phone.console if "Content Security Policy" in m]
    assert not blocked, "\n".join(blocked)
    assert not phone.errors, phone.console
    assert not phone.csp, phone.csp
