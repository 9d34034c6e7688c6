"""passport/web/static/verify.js in Chromium: it re-checks log inclusion and signatures.

The lifecycle page is stood in for by a tiny page with the same DOM contract, fulfilled by
Playwright at a same-origin URL of the live server (under a strict CSP, as the real page is),
that loads the real `/static/verify.js`. Tampering is done on the wire with `page.route`.

Key revocation is exercised on a real log: organisations made only for it (so the credentials
of `ledger` keep their keys) sign, rotate and revoke through the CLI, and the page names the
revocation entry (`data-key-revoked-index`/`-url`) as the lifecycle page does.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from passport.core.log.note import verifier_key
from passport.core.signing.canonical import canonicalize
from passport.core.signing.multibase import encode_multikey
from passport.store.keystore import raw_public
from tests.helpers import bearer, create_org, example

if TYPE_CHECKING:
    from click.testing import Result
    from flask.testing import FlaskCliRunner
    from playwright.sync_api import Page, Route

OK = "Checked in your browser"
FAILED = "Check in your browser failed"
UNSUPPORTED = "Your browser cannot check signatures"
CSP = "default-src 'none'; script-src 'self'; connect-src 'self'"
TIMEOUT_MS = 5000
SETTLED = """() => {
    const checks = [...document.querySelectorAll('.browser-check')];
    return checks.length > 0 && checks.every(
        (c) => ['ok', 'failed', 'unsupported'].includes(c.dataset.state));
}"""


@dataclass(frozen=True)
class Entry:
    """A credential the page shows: its log index, its issuer's DID document and, if its key
    was revoked, the index of the revoking log entry (the page's `data-key-revoked-*`)."""

    index: int
    did_url: str
    revoked: int | None = None


@dataclass(frozen=True)
class Ledger:
    """What the test page renders: the live server, the log key and the credentials."""

    url: str
    log_key: str
    entries: tuple[Entry, ...]
    passport: str = ""  # the passport the credentials are about


@pytest.fixture(scope="module")
def ledger(live_app: Flask, live_server: str) -> Ledger:
    """Issue a passport (maker), place it on the market (maker), repair it (repairer).

    The last write waits for a checkpoint covering all three; two issuers, so that the page
    holds two credentials under one DID document and one under another.
    """
    script = live_app.test_client().get("/static/verify.js")
    assert script.status_code == 200, (
        f"GET /static/verify.js answers {script.status_code}: the app must serve"
        " passport/web/static/ under /static (see create_app's static_folder)"
    )
    script.close()
    runner = live_app.test_cli_runner()
    maker = create_org(runner, "maker", "manufacturer")
    repairer = create_org(runner, "repairer", "repairer")
    client = live_app.test_client()
    issued = client.post("/api/v1/passports", json=example("textile"), headers=bearer(maker))
    assert issued.status_code == 201, issued.get_json()
    passport = issued.get_json()["id"]
    placed = client.post(
        f"/api/v1/passports/{passport}/events",
        json=example("events/place-on-market"),
        headers=bearer(maker),
    )
    assert placed.status_code == 201, placed.get_json()
    repaired = client.post(
        f"/api/v1/passports/{passport}/events?wait=checkpoint",
        json=example("events/repair"),
        headers=bearer(repairer),
    )
    assert repaired.status_code == 201, repaired.get_json()
    assert repaired.get_json()["inclusion"]["tree_size"] > repaired.get_json()["ledger_index"]
    entries = (
        Entry(issued.get_json()["ledger_index"], "/orgs/maker/did.json"),
        Entry(placed.get_json()["ledger_index"], "/orgs/maker/did.json"),
        Entry(repaired.get_json()["ledger_index"], "/orgs/repairer/did.json"),
    )
    verifier = live_app.extensions["passport.publisher"].key.verifier
    return Ledger(live_server, verifier, entries, passport)


def page_html(ledger: Ledger, log_key: str | None = None) -> str:
    """The DOM contract of the lifecycle page, with one article per credential."""
    articles = "".join(
        f'<article class="credential" data-entry-index="{e.index}"'
        f' data-entry-url="/ledger/entries/{e.index}" data-did-url="{e.did_url}"'
        + (
            ""
            if e.revoked is None
            else f' data-key-revoked-index="{e.revoked}"'
            f' data-key-revoked-url="/ledger/entries/{e.revoked}"'
        )
        + f'><h2>Entry {e.index}</h2><p class="browser-check" data-state="pending"'
        ' aria-live="polite"></p></article>'
        for e in ledger.entries
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Passport</title>'
        '<script src="/static/verify.js"></script></head>'
        f'<body data-log-key="{log_key or ledger.log_key}"'
        ' data-checkpoint-url="/ledger/checkpoint" data-proof-url="/ledger/proof/inclusion"'
        ' data-msg-checking="Checking in your browser…"'
        f' data-msg-ok="{OK}" data-msg-failed="{FAILED}" data-msg-unsupported="{UNSUPPORTED}">'
        f"<main>{articles}</main></body></html>"
    )


def open_page(page: Page, ledger: Ledger, log_key: str | None = None) -> list[dict[str, str]]:
    """Serve the test page same-origin, open it, wait until every check has an outcome.

    Return, per article, its `data-state` and text. A script error fails the test.
    """
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    html = page_html(ledger, log_key)
    page.route(
        f"{ledger.url}/test-page",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP},
            body=html,
        ),
    )
    page.goto(f"{ledger.url}/test-page")
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)
    found: list[dict[str, str]] = page.eval_on_selector_all(
        ".browser-check", "(all) => all.map((c) => ({state: c.dataset.state, text: c.textContent}))"
    )
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    return found


Change = Callable[[bytes], bytes]


def tamper(page: Page, match: str | Callable[[str], bool], change: Change) -> None:
    """Change the body of every response whose URL matches `match` on its way to the page."""

    def handle(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=change(response.body()))

    page.route(match, handle)


def flip_base64(text: str, at: int) -> str:
    """`text`, standard base64, with the lowest bit of decoded byte `at` flipped."""
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def did_change(change: Callable[[dict[str, Any]], None]) -> Change:
    """A body change applying `change` to a DID document."""

    def apply(body: bytes) -> bytes:
        document = json.loads(body)
        change(document)
        return json.dumps(document).encode()

    return apply


def test_every_credential_checks_ok_fetching_each_url_once(
    browser_page: Page, ledger: Ledger
) -> None:
    requested: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    assert open_page(browser_page, ledger) == [{"state": "ok", "text": OK}] * 3
    # One checkpoint and one DID document per issuer for the whole page; one entry and one
    # inclusion proof per credential.
    paths = [url.removeprefix(ledger.url) for url in requested]
    assert paths.count("/ledger/checkpoint") == 1
    assert paths.count("/orgs/maker/did.json") == paths.count("/orgs/repairer/did.json") == 1
    for entry in ledger.entries:
        assert paths.count(f"/ledger/entries/{entry.index}") == 1
        assert sum(p.startswith(f"/ledger/proof/inclusion?index={entry.index}&") for p in paths)
    # The test hook answers the same when asked again.
    again = browser_page.evaluate("() => window.passportVerify.verifyAll()")
    assert again == [{"state": "ok", "reason": ""}] * 3


def test_a_changed_entry_fails_that_credential_only(browser_page: Page, ledger: Ledger) -> None:
    changed = ledger.entries[1].index

    def one_character(body: bytes) -> bytes:
        marker = b'"id":"urn:uuid:'  # inside the credential: its id, a string value
        at = body.index(marker) + len(marker)
        return body[:at] + (b"1" if body[at : at + 1] == b"0" else b"0") + body[at + 1 :]

    tamper(browser_page, f"{ledger.url}/ledger/entries/{changed}", one_character)
    found = open_page(browser_page, ledger)
    assert found[1] == {
        "state": "failed",
        "text": f"{FAILED}: the entry differs from the one the log holds",
    }
    assert found[0]["state"] == found[2]["state"] == "ok"


def test_a_changed_inclusion_proof_hash_fails(browser_page: Page, ledger: Ledger) -> None:
    changed = ledger.entries[0].index

    def first_hash(body: bytes) -> bytes:
        proof = json.loads(body)
        proof["hashes"][0] = flip_base64(proof["hashes"][0], 7)
        return json.dumps(proof).encode()

    tamper(browser_page, lambda url: f"/ledger/proof/inclusion?index={changed}&" in url, first_hash)
    found = open_page(browser_page, ledger)
    assert found[0] == {
        "state": "failed",
        "text": f"{FAILED}: the entry's inclusion proof does not lead to the signed root",
    }
    assert found[1]["state"] == found[2]["state"] == "ok"


def test_a_changed_checkpoint_signature_fails_every_credential(
    browser_page: Page, ledger: Ledger
) -> None:
    def signature(body: bytes) -> bytes:
        text, _, line = body.decode().rstrip("\n").rpartition("\n")
        dash, name, blob = line.split(" ")
        return f"{text}\n{dash} {name} {flip_base64(blob, 20)}\n".encode()

    tamper(browser_page, f"{ledger.url}/ledger/checkpoint", signature)
    reason = f"{FAILED}: the checkpoint's signature does not verify"
    assert open_page(browser_page, ledger) == [{"state": "failed", "text": reason}] * 3


def test_a_page_naming_another_log_key_fails(browser_page: Page, ledger: Ledger) -> None:
    name = ledger.log_key.split("+", 1)[0]
    other = verifier_key(name, raw_public(Ed25519PrivateKey.generate()))
    reason = f"{FAILED}: the checkpoint is not signed once by the log's key"
    found = open_page(browser_page, ledger, log_key=other)
    assert found == [{"state": "failed", "text": reason}] * 3


def _drop_keys(document: dict[str, Any]) -> None:
    document["verificationMethod"], document["assertionMethod"] = [], []


def _revoke_keys(document: dict[str, Any]) -> None:
    for method in document["verificationMethod"]:
        method["revoked"] = "2026-01-01T00:00:00Z"
    document["assertionMethod"] = []


def _swap_keys(document: dict[str, Any]) -> None:
    for method in document["verificationMethod"]:
        method["publicKeyMultibase"] = encode_multikey(raw_public(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_drop_keys, "the signing key is not in the issuer's DID document"),
        (
            _revoke_keys,
            "the signing key was revoked (2026-01-01T00:00:00Z)"
            " and the page names no revocation entry",
        ),
        (_swap_keys, "the credential's signature does not verify"),
    ],
    ids=["without-the-key", "key-revoked", "another-key-same-id"],
)
def test_a_did_document_that_does_not_vouch_for_the_key_fails(
    browser_page: Page, ledger: Ledger, change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    tamper(browser_page, f"{ledger.url}/orgs/repairer/did.json", did_change(change))
    found = open_page(browser_page, ledger)
    assert found[2] == {"state": "failed", "text": f"{FAILED}: {reason}"}
    assert found[0]["state"] == found[1]["state"] == "ok"


def test_a_browser_without_ed25519_says_it_cannot_check(browser_page: Page, ledger: Ledger) -> None:
    browser_page.add_init_script(
        "crypto.subtle.importKey = () => "
        "Promise.reject(new DOMException('Ed25519 is not supported', 'NotSupportedError'));"
    )
    found = open_page(browser_page, ledger)
    assert found == [{"state": "unsupported", "text": UNSUPPORTED}] * 3


# ---- Revoked keys: validity by log position, on a real log --------------------------------

REVOKED = re.compile(r"revoked (\S+) at ledger index (\d+)")


@dataclass(frozen=True)
class Revoked:
    """An organisation that signed with its first key, rotated it, then revoked it."""

    slug: str
    old: tuple[int, ...]  # the entries its revoked (first) key signed
    new: int  # an entry its successor key signed
    revocation: int  # the index of the `key:revoked` entry
    ledger: Ledger  # the live server and log key, for pages of these entries

    @property
    def did_url(self) -> str:
        return f"/orgs/{self.slug}/did.json"

    def page(self, revoked: int | None) -> Ledger:
        """A page of the old key's entries naming `revoked` as their key's revocation (None:
        no `data-key-revoked-*`), and of the new key's entry (never revoked)."""
        entries = [Entry(i, self.did_url, revoked) for i in self.old]
        return replace(self.ledger, entries=(*entries, Entry(self.new, self.did_url)))


def _cli(runner: FlaskCliRunner, *args: str) -> Result:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (result.output, repr(result.exception))
    return result


def _current_key(runner: FlaskCliRunner, slug: str) -> str:
    rows = [line.split() for line in _cli(runner, "key", "list", slug).stdout.splitlines()[1:]]
    current = [row[0] for row in rows if row[1] == "current"]
    assert len(current) == 1, rows
    return current[0]


def _repair(live_app: Flask, token: str, passport: str) -> int:
    answer = live_app.test_client().post(
        f"/api/v1/passports/{passport}/events", json=example("events/repair"), headers=bearer(token)
    )
    assert answer.status_code == 201, answer.get_json()
    index: int = answer.get_json()["ledger_index"]
    return index


def _rotate_and_revoke(
    live_app: Flask, ledger: Ledger, slug: str, signed: int, compromised: int | None = None
) -> Revoked:
    """Have a new repairer `slug` record `signed` repairs, rotate its key, record one more and
    revoke the first key (`--compromised-since` its `compromised`-th entry if given); then
    publish a checkpoint covering the revocation, as the page checks against the newest one.
    """
    runner = live_app.test_cli_runner()
    token = create_org(runner, slug, "repairer")
    first = _current_key(runner, slug)
    old = tuple(_repair(live_app, token, ledger.passport) for _ in range(signed))
    _cli(runner, "key", "rotate", slug)
    new = _repair(live_app, token, ledger.passport)
    args = ["key", "revoke", slug, first]
    if compromised is not None:
        args += ["--compromised-since", str(old[compromised])]
    said = REVOKED.search(_cli(runner, *args).stderr)
    assert said is not None, "the CLI names no revocation index"
    assert said[1] == first
    revocation = int(said[2])
    assert revocation > new
    live_app.extensions["passport.publisher"].covering(revocation)
    # What the page relies on: the DID document marks the key revoked, no assertion method.
    document = live_app.test_client().get(f"/orgs/{slug}/did.json").get_json()
    method = next(m for m in document["verificationMethod"] if m["id"].endswith(f"#{first}"))
    assert "revoked" in method
    assert method["id"] not in document["assertionMethod"]
    return Revoked(slug, old, new, revocation, replace(ledger, entries=()))


@pytest.fixture(scope="module")
def revoked(live_app: Flask, ledger: Ledger) -> Revoked:
    """A key rotated out, then revoked with no `--compromised-since` (a routine revocation)."""
    return _rotate_and_revoke(live_app, ledger, "revoker", signed=2)


@pytest.fixture(scope="module")
def compromised(live_app: Flask, ledger: Ledger) -> Revoked:
    """A key rotated out, then revoked as compromised since the second of its three entries."""
    return _rotate_and_revoke(live_app, ledger, "compromised", signed=3, compromised=1)


def test_a_key_revoked_after_rotation_still_vouches_for_what_it_signed_before(
    browser_page: Page, revoked: Revoked
) -> None:
    requested: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    page = revoked.page(revoked.revocation)
    assert open_page(browser_page, page) == [{"state": "ok", "text": OK}] * 3
    # The revocation entry and its inclusion proof are fetched once for both credentials.
    paths = [url.removeprefix(page.url) for url in requested]
    assert paths.count(f"/ledger/entries/{revoked.revocation}") == 1
    proof = f"/ledger/proof/inclusion?index={revoked.revocation}&"
    assert sum(p.startswith(proof) for p in paths) == 1


def test_a_compromised_key_fails_what_it_signed_from_compromised_since_on(
    browser_page: Page, compromised: Revoked
) -> None:
    since = compromised.old[1]
    failed = {"state": "failed", "text": f"{FAILED}: the signing key was compromised since {since}"}
    found = open_page(browser_page, compromised.page(compromised.revocation))
    assert found == [{"state": "ok", "text": OK}, failed, failed, {"state": "ok", "text": OK}]


def test_a_page_naming_no_revocation_entry_for_a_revoked_key_fails(
    browser_page: Page, live_app: Flask, revoked: Revoked
) -> None:
    document = live_app.test_client().get(revoked.did_url).get_json()
    (when,) = [m["revoked"] for m in document["verificationMethod"] if "revoked" in m]
    reason = f"the signing key was revoked ({when}) and the page names no revocation entry"
    failed = {"state": "failed", "text": f"{FAILED}: {reason}"}
    found = open_page(browser_page, revoked.page(None))
    assert found == [failed, failed, {"state": "ok", "text": OK}]


def test_a_forged_revocation_entry_fails_its_inclusion_check(
    browser_page: Page, revoked: Revoked
) -> None:
    def compromised_since_later(body: bytes) -> bytes:
        entry = json.loads(body)
        entry["key"]["compromisedSince"] = revoked.old[1]
        return canonicalize(entry)

    tamper(
        browser_page,
        f"{revoked.ledger.url}/ledger/entries/{revoked.revocation}",
        compromised_since_later,
    )
    reason = "the revocation entry differs from the one the log holds"
    failed = {"state": "failed", "text": f"{FAILED}: {reason}"}
    found = open_page(browser_page, revoked.page(revoked.revocation))
    assert found == [failed, failed, {"state": "ok", "text": OK}]


@pytest.mark.parametrize(
    ("named", "reason"),
    [
        ("other", "the revocation entry is of another key"),
        ("credential", "the revocation entry is not a key revocation"),
        ("unpublished", "the revocation is not yet in a signed checkpoint"),
    ],
    ids=["another-keys-revocation", "not-a-revocation", "beyond-the-checkpoint"],
)
def test_a_page_naming_the_wrong_revocation_entry_fails(
    browser_page: Page, revoked: Revoked, compromised: Revoked, named: str, reason: str
) -> None:
    index = {
        "other": compromised.revocation,
        "credential": revoked.new,
        "unpublished": 10**9,
    }[named]
    failed = {"state": "failed", "text": f"{FAILED}: {reason}"}
    found = open_page(browser_page, revoked.page(index))
    assert found == [failed, failed, {"state": "ok", "text": OK}]
