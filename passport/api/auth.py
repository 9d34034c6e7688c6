"""Who is calling: the organisation behind a bearer token, or nobody."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from passport.core.errors import Unauthenticated
from passport.core.product.access import Caller
from passport.services.orgs.tokens import authenticate
from passport.store import db


def optional_caller() -> Caller | None:
    """Return the caller if a bearer token was sent; a bad token is refused, not ignored."""
    if "caller" not in g:
        header = request.headers.get("Authorization")
        if header is None:
            g.caller = None
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("use 'Authorization: Bearer <token>'")
            g.caller = authenticate(db.session(), token.strip())
    caller: Caller | None = g.caller
    return caller


def required_caller() -> Caller:
    """Return the caller or raise Unauthenticated."""
    caller = optional_caller()
    if caller is None:
        raise Unauthenticated("this endpoint needs 'Authorization: Bearer <token>'")
    return caller


F = TypeVar("F", bound=Callable[..., Any])


def authenticated(view: F) -> F:
    """Refuse an unauthenticated request before its body is even parsed (outermost decorator)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        required_caller()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
