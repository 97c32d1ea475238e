"""Domain errors: each has a machine-readable code and a Chinese message for people."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on. `code` is for programs, `message` for people (Chinese)."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class Conflict(DomainError):
    """The thing changed under us (another worker, a reused key); retrying may help."""

    code = "conflict"


class ImportRejected(DomainError):
    """A data file had bad rows; `details["errors"]` lists each row and its reason; nothing was stored."""

    code = "import_rejected"


class Unauthenticated(DomainError):
    """No valid credentials: the caller must log in (401), unlike PermissionDenied (403)."""

    code = "unauthorized"


class Unavailable(DomainError):
    """Something the request needs (the database) is out of reach for now: the same request may be sent
    again after `details["retry_after"]` seconds. A write cut off at its commit may or may not have
    been kept; a retry with the same Idempotency-Key finds out without doing it twice."""

    code = "service_unavailable"
