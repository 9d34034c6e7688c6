"""People who sign in: accounts, argon2id hashes, one answer for every bad sign-in, and the
throttle per address and per client, kept in the database for every worker to count."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from passport.core.errors import Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from passport.core.product.access import Caller, Role
from passport.services.orgs import users
from passport.store import db
from passport.store.account_tables import LoginAttemptRow, UserRow
from tests.helpers import create_org

PRODUCTION_HASHER = users.HASHER
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
EMAIL = "ann@example.nl"
HERE = "192.0.2.1"


class CountingHasher(PasswordHasher):
    """A cheap argon2id hasher that counts its verifications."""

    def __init__(self, **params: int) -> None:
        super().__init__(**{"time_cost": 1, "memory_cost": 8, "parallelism": 1, **params})
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        """Verify as argon2-cffi does, counting."""
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    """Hash with the least argon2id work: tests check behaviour, not cost."""
    hasher = CountingHasher()
    monkeypatch.setattr(users, "HASHER", hasher)
    return hasher


@pytest.fixture
def sess(app: Flask, runner: FlaskCliRunner) -> Iterator[Session]:
    """A session on the app's database, with organisation `maker` and its user `EMAIL`."""
    create_org(runner, "maker", "manufacturer", "repairer")
    with app.app_context(), Session(db.engine(), expire_on_commit=False) as session:
        users.create_user(session, org_slug="maker", email=EMAIL, password=PASSWORD, at=NOW)
        yield session


def sign_in(
    sess: Session,
    password: str = PASSWORD,
    *,
    email: str = EMAIL,
    source: str = HERE,
    at: timedelta = timedelta(0),
) -> users.SignedInUser:
    """Sign in `at` after NOW."""
    return users.sign_in(sess, email=email, password=password, source=source, now=NOW + at)


def fail(sess: Session, times: int, **where: str) -> None:
    """Sign in with a wrong password `times` times; each is refused as wrong."""
    for _ in range(times):
        with pytest.raises(Unauthenticated, match=users.WRONG):
            sign_in(sess, "wrong password!", **where)  # type: ignore[arg-type]


def test_a_user_signs_in_as_a_member_of_their_organisation(sess: Session) -> None:
    user = sign_in(sess, email="  Ann@Example.NL ")
    assert (user.email, user.org_slug, user.org_name) == (EMAIL, "maker", "Maker")
    assert user.roles == {Role.MANUFACTURER, Role.REPAIRER}
    assert user.caller == Caller(user.org_id, "maker", frozenset(user.roles))
    assert users.load_user(sess, user.id) == user
    assert users.load_user(sess, user.id + 1) is None
    [listed] = users.list_users(sess, "maker")
    assert (listed.id, listed.email, listed.created_at, listed.disabled) == (
        user.id,
        EMAIL,
        NOW,
        False,
    )


def test_passwords_are_stored_only_as_argon2id_hashes(sess: Session) -> None:
    stored = sess.exec(select(UserRow.password_hash)).one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    defaults = PasswordHasher()  # production hashes with argon2-cffi's own parameters
    assert (PRODUCTION_HASHER.time_cost, PRODUCTION_HASHER.memory_cost) == (
        defaults.time_cost,
        defaults.memory_cost,
    )


def test_a_wrong_password_and_an_unknown_address_get_one_answer(
    sess: Session, cheap_hasher: CountingHasher
) -> None:
    with pytest.raises(Unauthenticated) as wrong:
        sign_in(sess, "not the password")
    before = cheap_hasher.verified
    with pytest.raises(Unauthenticated) as unknown:
        sign_in(sess, email="nobody@example.nl")
    assert wrong.value.detail == unknown.value.detail == users.WRONG
    assert cheap_hasher.verified == before + 1  # a hash is checked all the same


def test_after_five_failures_even_the_right_password_is_refused(sess: Session) -> None:
    fail(sess, 5)
    with pytest.raises(TooManyAttempts) as refused:
        sign_in(sess)
    assert refused.value.retry_after == 15 * 60
    assert refused.value.code == "too-many-attempts"
    with pytest.raises(TooManyAttempts) as later:
        sign_in(sess, at=timedelta(minutes=10))
    assert later.value.retry_after == 5 * 60


def test_one_client_is_throttled_across_addresses(sess: Session) -> None:
    for n in range(5):
        fail(sess, 1, email=f"guess{n}@example.nl")
    with pytest.raises(TooManyAttempts):
        sign_in(sess)
    assert sign_in(sess, source="198.51.100.7").email == EMAIL


def test_one_address_is_throttled_across_clients(sess: Session) -> None:
    for n in range(5):
        fail(sess, 1, source=f"198.51.100.{n}")
    with pytest.raises(TooManyAttempts):
        sign_in(sess, source="203.0.113.1")


def test_the_lock_ends_after_fifteen_minutes(sess: Session) -> None:
    fail(sess, 5)
    assert sign_in(sess, at=timedelta(minutes=15)).email == EMAIL


def test_failures_count_within_fifteen_minutes(sess: Session) -> None:
    fail(sess, 4)
    for n in range(4):
        with pytest.raises(Unauthenticated):
            sign_in(sess, "wrong password!", at=timedelta(minutes=16 + n))
    assert sign_in(sess, at=timedelta(minutes=20)).email == EMAIL


def test_a_success_clears_the_address_count(sess: Session) -> None:
    """The address's count starts again; a client's count does not (each try from elsewhere)."""
    for n in range(4):
        fail(sess, 1, source=f"198.51.100.{n}")
    sign_in(sess, source="198.51.100.50")
    for n in range(4):
        fail(sess, 1, source=f"198.51.100.{10 + n}")
    assert sign_in(sess, source="198.51.100.51").email == EMAIL


def test_workers_count_the_same_failures(app: Flask, sess: Session) -> None:
    """The count lives in the database: another session (another worker) sees it."""
    fail(sess, 3)
    with Session(db.engine()) as other:
        fail(other, 2)
        with pytest.raises(TooManyAttempts):
            sign_in(other)
    with pytest.raises(TooManyAttempts):
        sign_in(sess)


def test_concurrent_failures_each_count(app: Flask, sess: Session) -> None:
    """Failures at once from several workers: each is counted, none lost to another."""

    def attempt(n: int) -> None:
        with Session(db.engine_of(app)) as own, pytest.raises(Unauthenticated):
            sign_in(own, "wrong password!", source=f"198.51.100.{n}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(attempt, range(4)))
    counted = sess.get(LoginAttemptRow, f"email:{EMAIL}")
    assert counted is not None
    assert counted.failures == 4


def test_a_hash_of_older_parameters_is_replaced(
    sess: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "HASHER", CountingHasher(time_cost=2))
    sign_in(sess)
    stored = sess.exec(select(UserRow.password_hash)).one()
    assert ",t=2," in stored
    assert sign_in(sess).email == EMAIL


def test_a_disabled_user_cannot_sign_in(sess: Session) -> None:
    user_id = sign_in(sess).id
    users.set_disabled(sess, email="ANN@example.nl", disabled=True)
    with pytest.raises(Unauthenticated, match="disabled"):
        sign_in(sess)
    assert users.load_user(sess, user_id) is None
    users.set_disabled(sess, email=EMAIL, disabled=False)
    assert sign_in(sess).id == user_id
    with pytest.raises(NotFound):
        users.set_disabled(sess, email="nobody@example.nl", disabled=True)


def test_an_address_is_taken_once(sess: Session, runner: FlaskCliRunner) -> None:
    create_org(runner, "other", "recycler")
    with pytest.raises(Conflict) as taken:
        users.create_user(sess, org_slug="other", email="ANN@example.nl", password=PASSWORD, at=NOW)
    assert taken.value.errors == {"email": ["already taken"]}


def test_new_users_are_checked(sess: Session) -> None:
    with pytest.raises(InvalidInput) as short:
        users.create_user(
            sess, org_slug="maker", email="b@example.nl", password="11 chars...", at=NOW
        )
    assert set(short.value.errors) == {"password"}
    with pytest.raises(InvalidInput) as malformed:
        users.create_user(sess, org_slug="maker", email="b@", password=PASSWORD, at=NOW)
    assert set(malformed.value.errors) == {"email"}
    with pytest.raises(NotFound):
        users.create_user(sess, org_slug="ghost", email="b@example.nl", password=PASSWORD, at=NOW)
    assert [user.email for user in users.list_users(sess, "maker")] == [EMAIL]


def test_the_cli_creates_a_user_with_a_password_from_stdin(
    app: Flask, runner: FlaskCliRunner
) -> None:
    create_org(runner, "maker", "manufacturer")
    made = runner.invoke(
        args=["user", "create", "maker", "Bo@Example.nl", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert made.stderr.strip() == "created user bo@example.nl in maker"
    with app.app_context(), Session(db.engine()) as sess:
        assert sign_in(sess, email="bo@example.nl").org_slug == "maker"
    listed = runner.invoke(args=["user", "list", "maker"])
    assert "bo@example.nl" in listed.stdout
    assert "active" in listed.stdout


def test_the_cli_refuses_what_it_cannot_create(runner: FlaskCliRunner) -> None:
    create_org(runner, "maker", "manufacturer")
    ghost = runner.invoke(
        args=["user", "create", "ghost", "bo@example.nl", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert ghost.exit_code != 0
    assert "no organisation 'ghost'" in ghost.stderr
    short = runner.invoke(
        args=["user", "create", "maker", "bo@example.nl", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0
    assert "password: at least 12 characters" in short.stderr
    no_terminal = runner.invoke(args=["user", "create", "maker", "bo@example.nl"], input="")
    assert no_terminal.exit_code != 0
    assert "--password-stdin" in no_terminal.stderr
