"""One exception root for the whole service; the API maps each leaf to an HTTP status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class PassportError(Exception):
    """Root of every domain error; `code` is the stable problem-type slug."""

    code = "passport-error"
    title = "Passport error"

    def __init__(self, detail: str, *, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}


class InvalidInput(PassportError):
    """Input breaks a rule; `errors` maps field paths to messages."""

    code = "invalid-input"
    title = "Invalid input"


class BadIdentifier(InvalidInput):
    """A resolver request URI is not a valid GS1 Digital Link: bad syntax or check digit."""

    code = "bad-identifier"
    title = "Not a valid GS1 Digital Link"


class NotFound(PassportError):
    """The named thing does not exist."""

    code = "not-found"
    title = "Not found"


class Unauthenticated(PassportError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(PassportError):
    """The caller is known but may not do this."""

    code = "forbidden"
    title = "Forbidden"


class Conflict(PassportError):
    """The request clashes with existing state (e.g. an identifier already used)."""

    code = "conflict"
    title = "Conflict"


class TooManyAttempts(PassportError):
    """Too many recent failures under one key (an account, a client address): further
    attempts are refused for a while, even good ones (HTTP 429 with `Retry-After`).

    `retry_after` is how many whole seconds to wait.
    """

    code = "too-many-attempts"
    title = "Too many attempts"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int,
        errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        self.retry_after = retry_after


class InvalidKey(PassportError):
    """A public or private key is malformed, non-canonical or of small order."""

    code = "invalid-key"
    title = "Invalid key"


class SignatureInvalid(PassportError):
    """A signature or proof does not verify."""

    code = "signature-invalid"
    title = "Signature invalid"


class LedgerInconsistent(PassportError):
    """Stored or presented ledger data disagrees with itself."""

    code = "ledger-inconsistent"
    title = "Ledger inconsistent"
