"""People who sign in: each a member of one organisation, acting with its roles.

Passwords are kept only as argon2id hashes (`HASHER`: argon2-cffi's defaults). Failed
sign-ins are counted per email address and per client address (`source`) in the database, so
every worker process counts the same ones: after `MAX_FAILURES` within `WINDOW` under either
key, sign-ins under it are refused for `LOCKOUT`, even with the right password.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from passport.core.errors import Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from passport.core.product.access import Caller, Role
from passport.services.ledger.log import begin_write
from passport.services.orgs.organisations import get_organisation
from passport.store.account_tables import LoginAttemptRow, UserRow
from passport.store.sql import driver_query
from passport.store.tables import table_of

# argon2id with the library's defaults (tests swap in a cheap one); a sign-in whose stored
# hash was made with other parameters stores a new one.
HASHER = PasswordHasher()
MIN_PASSWORD, MAX_PASSWORD = 12, 1024
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# One answer for an unknown address and a wrong password: no one learns who has an account.
WRONG = "the email address or the password is wrong"
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?:[^@\s.]+\.)+[^@\s.]+$")
_USER = (
    "SELECT u.id, u.email, u.password_hash, u.disabled, o.id, o.slug, o.name, r.role,"
    " u.session_epoch"
    " FROM user_account u JOIN organisation o ON o.id = u.org_id"
    " LEFT JOIN org_role r ON r.org_id = o.id WHERE "
)
_BY_ID, _BY_EMAIL = _USER + "u.id = ?", _USER + "u.email = ?"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account as listings show it: never its password hash."""

    id: int
    email: str
    org_slug: str
    created_at: datetime
    disabled: bool


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """A signed-in person: who they are and the organisation they act for."""

    id: int
    email: str
    org_id: int
    org_slug: str
    org_name: str
    roles: frozenset[Role]
    session_epoch: int = 0  # sessions made under an older number are over (`sessions.py`)

    @property
    def caller(self) -> Caller:
        """The organisation as a caller, so the read policy of API tokens applies as is."""
        return Caller(org_id=self.org_id, slug=self.org_slug, roles=self.roles)


@dataclass(frozen=True, slots=True)
class _Found:
    user: SignedInUser
    password_hash: str
    disabled: bool


def normal_email(email: str) -> str:
    """Return `email` as stored and looked up: trimmed, NFC-normalised, lower-cased."""
    return unicodedata.normalize("NFC", email.strip()).lower()


def _check_new(email: str, password: str) -> str:
    errors: dict[str, list[str]] = {}
    address = normal_email(email)
    if len(address) > 254 or not _EMAIL.match(address):
        errors["email"] = ["an email address such as name@example.nl"]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"at least {MIN_PASSWORD} characters"]
    elif len(password) > MAX_PASSWORD:
        errors["password"] = [f"at most {MAX_PASSWORD} characters"]
    if errors:
        raise InvalidInput("user is invalid", errors=errors)
    return address


def _taken(address: str) -> Conflict:
    return Conflict(f"a user {address!r} exists", errors={"email": ["already taken"]})


def _begin_write(sess: Session) -> None:
    """Start a write transaction, ending a reading one first (on SQLite the write lock is taken
    at BEGIN). Services own their transactions: the session holds no pending changes."""
    if sess.in_transaction():
        sess.rollback()
    begin_write(sess)


def create_user(
    sess: Session, *, org_slug: str, email: str, password: str, at: datetime
) -> UserRecord:
    """Create a user of organisation `org_slug` signing in with `email` and `password`.

    Raises InvalidInput (a malformed address, a password of fewer than 12 characters),
    NotFound (no such organisation) or Conflict (the address is taken).
    """
    address = _check_new(email, password)
    hashed = HASHER.hash(password)  # before the write lock: hashing takes a while
    _begin_write(sess)
    try:
        org = get_organisation(sess, org_slug)
        if sess.exec(select(UserRow.id).where(UserRow.email == address)).first() is not None:
            raise _taken(address)
        row = UserRow(org_id=org.id, email=address, password_hash=hashed, created_at=at)
        sess.add(row)
        try:
            sess.flush()
        except IntegrityError:
            raise _taken(address) from None
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    return UserRecord(row.id or 0, address, org.slug, at, disabled=False)


def list_users(sess: Session, org_slug: str) -> list[UserRecord]:
    """Return the users of organisation `org_slug`, by email address."""
    org = get_organisation(sess, org_slug)
    rows = sess.exec(
        select(UserRow).where(UserRow.org_id == org.id).order_by(col(UserRow.email))
    ).all()
    return [UserRecord(r.id or 0, r.email, org.slug, _utc(r.created_at), r.disabled) for r in rows]


def set_disabled(sess: Session, *, email: str, disabled: bool) -> None:
    """Disable (or enable again) the user `email`; a disabled user cannot sign in."""
    _begin_write(sess)
    row = sess.exec(select(UserRow).where(UserRow.email == normal_email(email))).first()
    if row is None:
        sess.rollback()
        raise NotFound(f"no user {normal_email(email)!r}")
    row.disabled = disabled
    sess.commit()


def load_user(sess: Session, user_id: int) -> SignedInUser | None:
    """Return the user `user_id` as signed in, or None when unknown or disabled (for a session
    loader: read at every request, a disabled user is out at once)."""
    found = _find(sess, _BY_ID, user_id)
    return None if found is None or found.disabled else found.user


def sign_in(
    sess: Session, *, email: str, password: str, source: str, now: datetime
) -> SignedInUser:
    """Return the user `email` names if `password` is theirs; `source` is the client address.

    Raises Unauthenticated with one message for an unknown address and a wrong password
    (each failure counted under both keys and committed), another for a disabled account
    with the right password; TooManyAttempts while either key is locked out.
    """
    when = _utc(now)
    address = normal_email(email)
    keys = (f"email:{address[:254]}", f"source:{source[:200]}")
    counted = _refuse_while_locked(sess, keys, when)
    found = _find(sess, _BY_EMAIL, address)
    if found is None:
        _verify(_dummy_hash(), password)  # as long as a real check: timing tells no one
        _count_failure(sess, keys, when)
        raise Unauthenticated(WRONG)
    if not _verify(found.password_hash, password):
        _count_failure(sess, keys, when)
        raise Unauthenticated(WRONG)
    if found.disabled:
        sess.rollback()
        raise Unauthenticated("this account is disabled")
    rehashed = HASHER.hash(password) if HASHER.check_needs_rehash(found.password_hash) else None
    if keys[0] in counted or rehashed is not None:
        _after_success(sess, found.user.id, keys[0], rehashed)
    return found.user


def _after_success(sess: Session, user_id: int, email_key: str, rehashed: str | None) -> None:
    """Clear the address's failures and store a new hash if one was made; committed here."""
    _begin_write(sess)
    try:
        sess.execute(delete(LoginAttemptRow).where(col(LoginAttemptRow.key) == email_key))
        row = sess.get(UserRow, user_id)
        if rehashed is not None and row is not None:
            row.password_hash = rehashed
        sess.commit()
    except BaseException:
        sess.rollback()
        raise


def _find(sess: Session, query: str, value: object) -> _Found | None:
    rows = driver_query(sess.connection(), query, (value,))
    if not rows:
        return None
    user_id, email, hashed, disabled, org_id, slug, name, _role, epoch = rows[0]
    roles = frozenset(Role(row[7]) for row in rows if row[7] is not None)
    user = SignedInUser(int(user_id), str(email), int(org_id), str(slug), str(name), roles, epoch)
    return _Found(user, str(hashed), bool(disabled))


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError, UnicodeError):
        return False


_DUMMIES: dict[tuple[int, ...], str] = {}


def _dummy_hash() -> str:
    """A hash of no one's password with `HASHER`'s parameters, as costly to check as any."""
    params = (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism, HASHER.hash_len)
    if params not in _DUMMIES:
        _DUMMIES[params] = HASHER.hash(secrets.token_urlsafe(24))
    return _DUMMIES[params]


def _refuse_while_locked(sess: Session, keys: Sequence[str], when: datetime) -> set[str]:
    """Raise TooManyAttempts while a key is locked out; return the keys with failures."""
    rows = sess.exec(select(LoginAttemptRow).where(col(LoginAttemptRow.key).in_(keys))).all()
    ends = [_utc(r.locked_until) for r in rows if r.locked_until is not None]
    ends = [end for end in ends if end > when]
    if ends:
        sess.rollback()
        wait = math.ceil((max(ends) - when).total_seconds())
        raise TooManyAttempts(
            f"too many failed sign-ins: try again in {wait} seconds", retry_after=wait
        )
    return {r.key for r in rows}


def _count_failure(sess: Session, keys: Sequence[str], when: datetime) -> None:
    """Count a failure under each key, in a transaction of its own (committed here)."""
    _begin_write(sess)
    try:
        stale = or_(
            col(LoginAttemptRow.locked_until) <= when,
            and_(
                col(LoginAttemptRow.locked_until).is_(None),
                col(LoginAttemptRow.first_failure_at) <= when - WINDOW,
            ),
        )
        sess.execute(delete(LoginAttemptRow).where(stale))  # keeps the table small
        dialect = sess.connection().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        fresh = [{"key": key, "failures": 0, "first_failure_at": when} for key in keys]
        sess.execute(insert(table_of(LoginAttemptRow)).values(fresh).on_conflict_do_nothing())
        # FOR UPDATE on PostgreSQL (concurrent failures each count); SQLite holds the write lock.
        locked = select(LoginAttemptRow).where(col(LoginAttemptRow.key).in_(keys))
        for row in sess.exec(locked.with_for_update().execution_options(populate_existing=True)):
            _fail(row, when)
        sess.commit()
    except BaseException:
        sess.rollback()
        raise


def _fail(row: LoginAttemptRow, when: datetime) -> None:
    if row.locked_until is not None and _utc(row.locked_until) > when:
        return  # locked meanwhile by another attempt
    if row.locked_until is not None or _utc(row.first_failure_at) <= when - WINDOW:
        row.failures, row.first_failure_at, row.locked_until = 0, when, None
    row.failures += 1
    if row.failures >= MAX_FAILURES:
        row.locked_until = when + LOCKOUT


def _utc(when: datetime) -> datetime:
    """`when` in UTC; SQLite hands back times without a zone, stored in UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
