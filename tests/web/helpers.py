"""Helpers of the web tests: organisations with people who sign in, passports with events."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers import bearer, create_org, example

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def org_with_user(runner: FlaskCliRunner, slug: str, *roles: str) -> tuple[str, str]:
    """Create an organisation and one person in it; return (API token, email)."""
    token = create_org(runner, slug, *roles)
    email = f"{slug}@example.nl"
    made = runner.invoke(
        args=["user", "create", slug, email, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert made.exit_code == 0, made.output
    return token, email


def csrf_of(client: FlaskClient, path: str) -> str:
    """Open the form at `path` and return its CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.data[:500]
    found = CSRF.search(page.get_data(as_text=True))
    assert found is not None, "the form carries a CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form, as a browser does."""
    token = csrf_of(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"}
    )


def issue(client: FlaskClient, token: str, body: dict[str, Any] | None = None) -> str:
    """Issue a passport (the textile example unless `body`); return its id."""
    answer = client.post(
        "/api/v1/passports", json=body or example("textile"), headers=bearer(token)
    )
    assert answer.status_code == 201, answer.get_json()
    passport: str = answer.get_json()["id"]
    return passport


def record(client: FlaskClient, token: str, passport: str, body: dict[str, Any]) -> Any:
    """Record an event through the API, waiting for a checkpoint; return the answer's JSON."""
    answer = client.post(
        f"/api/v1/passports/{passport}/events?wait=checkpoint", json=body, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()
