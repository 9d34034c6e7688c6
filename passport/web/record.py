"""Scan to record: a short phone form that records an event as the API does.

A signed-in repairer, collector or recycler opens the form from a passport's page, picks what
it did (only the kinds its roles may record and the passport's state allows), fills in the
few fields that kind needs, and sends it. The event is signed with the organisation's key
and appended through the same service as `POST /api/v1/passports/{id}/events`, waiting for
a checkpoint, so the page it returns to shows the event with its mark. The form carries a
CSRF token and a one-time key (sent as the write's Idempotency-Key): a double tap records
once. "Scan many" records one event for a series of scanned codes (a hand scanner types each
code and Enter), through the bulk service.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask_babel import gettext as _

from passport.core.errors import Forbidden, InvalidInput, PassportError, Unauthenticated
from passport.core.lifecycle.states import WrongState, after, replay
from passport.core.lifecycle.vocabulary import EventKind, event_kind, may_record
from passport.core.product.access import Caller
from passport.services.events.read import stored_history
from passport.services.events.writes import record, record_many
from passport.services.orgs.organisations import get_organisation
from passport.services.orgs.users import SignedInUser
from passport.services.passports.idempotency import Idempotency
from passport.services.passports.writes import Write
from passport.store import db
from passport.web.session import csrf, page_context, signed_in

bp = Blueprint("record", __name__)

# The kinds the phone form can describe; remanufacture (it issues a new passport) and
# disassembly (a list of components) are recorded through the API.
FORM_KINDS = (
    EventKind.REPAIR,
    EventKind.REFURBISH,
    EventKind.TRANSFER,
    EventKind.COLLECT,
    EventKind.SORT,
    EventKind.RECYCLE,
    EventKind.END_OF_LIFE,
    EventKind.PLACE_ON_MARKET,
)
MANY_KINDS = (EventKind.COLLECT, EventKind.SORT, EventKind.TRANSFER, EventKind.END_OF_LIFE)
CONDITIONS = ("as-new", "good", "fair", "poor", "unusable")
SORT_OUTCOMES = ("reuse-nl", "reuse-abroad", "recycling", "fibre-to-fibre")
END_OUTCOMES = ("incinerated-with-energy-recovery", "incinerated", "landfilled")
MATERIALS = (
    "polyester",
    "cotton",
    "wool",
    "polyamide",
    "viscose",
    "steel",
    "polyurethane_foam",
    "latex",
)
ZONE = ZoneInfo("Europe/Amsterdam")


def _user() -> SignedInUser:
    user = signed_in()
    if user is None:
        raise Unauthenticated(_("Sign in to record what you did."))
    return user


def allowed_kinds(caller: Caller, entry_kinds: Iterable[str]) -> list[EventKind]:
    """Return the form kinds `caller` may record on a passport whose history holds entries of
    `entry_kinds` (ledger entry kinds, in order: `passport:issued`, `event:repair`, …)."""
    events = (event_kind(kind) for kind in entry_kinds)
    state = replay(kind for kind in events if kind is not None)
    allowed = []
    for kind in FORM_KINDS:
        if not may_record(caller.roles, kind):
            continue
        try:
            after(state, kind)
        except WrongState:
            continue
        allowed.append(kind)
    return allowed


def _state(caller: Caller, path: str) -> tuple[str, list[str]]:
    """Return the passport's id and the kinds of its events, in order."""
    ctx = current_app.extensions["passport.services"]
    history = stored_history(db.session(), ctx, caller, path, events_only=True)
    return history.passport, [entry.kind for entry in history.entries]


def _page(template: str, status: int = 200, **values: Any) -> Response:
    html = render_template(
        template,
        conditions=CONDITIONS,
        sort_outcomes=SORT_OUTCOMES,
        end_outcomes=END_OUTCOMES,
        materials=MATERIALS,
        now=datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M"),
        nonce=secrets.token_urlsafe(16),
        **values,
        **page_context(),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/record/<path:path>")
def form(path: str) -> Response:
    """Show the form for the passport at Digital Link `path`."""
    user = _user()
    passport, kinds = _state(user.caller, path)
    allowed = allowed_kinds(user.caller, kinds)
    if not allowed:
        raise Forbidden(
            _("%(org)s cannot record an event on this passport now.", org=user.org_name)
        )
    return _page("record.html", passport=passport, kinds=allowed, values={}, error=None)


def _time(text: str) -> str:
    try:
        local = datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=ZONE)
    except ValueError:
        raise InvalidInput(
            _("Give the date and time."), errors={"occurred_at": ["YYYY-MM-DDTHH:MM"]}
        ) from None
    return local.isoformat()


def _grams(form: Any, name: str, required: bool) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        if required:
            raise InvalidInput(_("Give the mass in grams."), errors={name: ["required"]})
        return None
    if not text.isdigit() or len(text) > 10:
        raise InvalidInput(_("Give the mass in whole grams."), errors={name: ["whole grams"]})
    return int(text)


def event_of(form: Any, user: SignedInUser) -> dict[str, Any]:
    """Build the API's event body from the form's fields."""
    kind = EventKind(form.get("kind", ""))
    org = get_organisation(db.session(), user.org_slug)
    place = {"country": org.country}
    place |= {
        k: v for k, v in (("province", org.province), ("municipality", org.municipality)) if v
    }
    body: dict[str, Any] = {
        "kind": kind.value,
        "occurred_at": _time(form.get("occurred_at", "")),
        "place": place,
    }
    mass = _grams(form, "mass_in_g", kind in (EventKind.COLLECT, EventKind.SORT, EventKind.RECYCLE))
    if mass is not None and kind is not EventKind.PLACE_ON_MARKET:
        body["mass_in_g"] = mass
    conditioned = (EventKind.REPAIR, EventKind.REFURBISH, EventKind.COLLECT, EventKind.TRANSFER)
    if kind in conditioned and form.get("condition") in CONDITIONS:
        body["condition"] = form["condition"]
    if kind in (EventKind.SORT, EventKind.END_OF_LIFE):
        body["outcome"] = form.get("outcome", "")
    if kind is EventKind.TRANSFER:
        body["recipient"] = {"type": "consumer"}
    if kind is EventKind.RECYCLE:
        output = _grams(form, "output_g", True)
        body["outputs"] = [
            {
                "material": form.get("material", ""),
                "mass_g": output,
                "gtin": form.get("gtin", "").strip(),
            }
        ]
    note = form.get("note", "").strip()
    if note:
        body["note"] = note  # its length is the event schema's to judge
    return body


def _write(user: SignedInUser, path: str, body: Any) -> Write:
    nonce = request.form.get("nonce", "")[:64]
    idem = None
    if nonce:
        idem = Idempotency.of(
            user.org_id, f"form-{nonce}", "POST", f"/record/{path}", repr(body).encode()
        )
    return Write(
        db.session(),
        current_app.extensions["passport.services"],
        current_app.extensions["passport.publisher"],
        user.caller,
        datetime.now(UTC).replace(microsecond=0),
        idem,
    )


def _logged(views: list[Any]) -> dict[str, Any]:
    """What a kept form write answers: the entry's index (so a checkpoint is awaited for it)."""
    return {"ledger_index": views[0].ledger_index} if views else {}


@bp.post("/record/<path:path>")
def submit(path: str) -> Response:
    """Record the event; back to the passport's page, at the new entry."""
    csrf.protect()
    user = _user()
    passport, kinds = _state(user.caller, path)
    try:
        body = event_of(request.form, user)
        written = record(_write(user, passport, body), passport, body, wait=True, response=_logged)
    except (InvalidInput, ValueError, PassportError) as exc:
        detail = exc.detail if isinstance(exc, PassportError) else _("Choose what you did.")
        errors = exc.errors if isinstance(exc, PassportError) else {}
        status = 409 if isinstance(exc, WrongState) else 422
        return _page(
            "record.html",
            status,
            passport=passport,
            kinds=allowed_kinds(user.caller, kinds),
            values=request.form,
            error=detail,
            errors=errors,
        )
    del written
    lang = request.args.get("lang", "")
    query = f"?lang={lang}" if lang in ("nl", "en") else ""
    return redirect(f"/{passport}{query}#timeline-title", 303)  # type: ignore[return-value]


@bp.get("/scan")
def scan_many() -> Response:
    """Show the scan-many form: one event for a series of scanned codes."""
    user = _user()
    kinds = [k for k in MANY_KINDS if may_record(user.caller.roles, k)]
    if not kinds:
        raise Forbidden(
            _("%(org)s records no events that are scanned in series.", org=user.org_name)
        )
    return _page("scan.html", kinds=kinds, values={}, error=None, outcomes=None)


@bp.post("/scan")
def scan_many_post() -> Response:
    """Record the same event for every scanned code; say what became of each."""
    csrf.protect()
    user = _user()
    kinds = [k for k in MANY_KINDS if may_record(user.caller.roles, k)]
    codes = [line.strip() for line in request.form.get("codes", "").splitlines() if line.strip()]
    try:
        body = event_of(request.form, user)
        if EventKind(body["kind"]) not in kinds:
            raise InvalidInput(
                _("Choose what you did."), errors={"kind": ["not scanned in series"]}
            )
        if not codes or len(codes) > current_app.config["BULK_MAX_ROWS"]:
            raise InvalidInput(_("Scan at least one code."), errors={"codes": ["1 to 10,000"]})
        items = [{**body, "passport": code} for code in codes]
        written = record_many(_write(user, "scan", items), items, {}, response=_outcomes)
    except (ValueError, PassportError) as exc:
        detail = exc.detail if isinstance(exc, PassportError) else _("Choose what you did.")
        return _page(
            "scan.html", 422, kinds=kinds, values=request.form, error=detail, outcomes=None
        )
    # Read back from the write's answer, which a retry (the same one-time key) gets too.
    outcomes = json.loads(written.text)["outcomes"]
    return _page("scan.html", kinds=kinds, values={}, error=None, outcomes=outcomes, codes=codes)


def _outcomes(outcomes: list[Any]) -> dict[str, Any]:
    """What a scan-many write answers (and keeps for a retry): what became of each code."""
    return {
        "outcomes": [
            {
                "item": outcome.item,
                "ledger_index": outcome.ledger_index,
                "error": outcome.error.detail if outcome.error is not None else None,
            }
            for outcome in outcomes
        ]
    }
