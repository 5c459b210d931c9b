"""Errors that the sandbox turns into JSON error responses.

    SandboxError              any rejected request, with status and code
    ├── InvalidRequest        400, the body breaks the published schema
    ├── NotFound              404, no object with that id or token
    └── Conflict              409, a name is already in use

The in-process API (``Sandbox.create_job_type``, ``Sandbox.close_job_opening``
and ``Sandbox.set_faults``) raises the same classes with the same messages
that an HTTP client receives.
"""

from __future__ import annotations

from http import HTTPStatus

# Machine-readable codes for the "code" member of an error body.
ERROR_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_code(status: int) -> str:
    """Return the error code for an HTTP status, derived from its phrase if unlisted."""
    if status in ERROR_CODES:
        return ERROR_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return phrase.lower().replace(" ", "_").replace("-", "_")


class SandboxError(Exception):
    """A request that the sandbox rejects with ``status`` and a message."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        """Error code sent in the body's ``error.code``."""
        return error_code(self.status)


class InvalidRequest(SandboxError):
    """Raised when a body is malformed or breaks the published schema."""

    status = 400


class NotFound(SandboxError):
    """Raised when no job type or job opening has the requested id."""

    status = 404


class Conflict(SandboxError):
    """Raised when a job opening or job type name is already in use."""

    status = 409
