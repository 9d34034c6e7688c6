"""SQLModel tables of the people who sign in, and of the sign-in throttle every worker shares.

Kept beside `passport.store.tables` (which re-exports them, so importing it registers every
table) to hold each module to a readable size.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, false
from sqlmodel import Field, SQLModel


class UserRow(SQLModel, table=True):
    """A person who signs in, a member of one organisation; the password kept only as its
    argon2id hash, the email address lower-cased (`passport.services.orgs.users`)."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Raised when the person signs out: every session made before is over, on every device.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LoginAttemptRow(SQLModel, table=True):
    """Recent failed sign-ins under one key, `email:<address>` or `source:<client address>`:
    a row in the database, so that every worker process counts the same failures."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = Field(default=0)
    first_failure_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
