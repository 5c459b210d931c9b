"""Exceptions raised by the Alpharun client and the resource providers.

The tree::

    AlpharunError                  any failure of this package
    ├── ConfigurationError         missing API key, bad URL, bad timeout
    └── RequestFailedError         a call to the Alpharun API failed
        ├── TransportError         no HTTP response: refused, reset, timed out
        └── ApiError               an HTTP response with a status that failed
            ├── InvalidRequestError    400, 413, 422: the API's own message
            ├── AuthenticationError    401, 403: the API key was rejected
            ├── NotFoundError          404: the id does not exist
            ├── ConflictError          409: the name is already taken
            ├── RateLimitedError       429 after every retry was spent
            ├── ServerError            5xx
            └── UnexpectedResponseError  a 2xx body that is not the published shape

``RequestFailedError.outcome_unknown`` is true when the request may have been
applied by Alpharun even though it failed (a read timeout, a connection dropped
after sending, a 500 on a create). Such a create must not be sent again.
"""

from __future__ import annotations


class AlpharunError(Exception):
    """Any failure raised by alpharun_provider."""


class ConfigurationError(AlpharunError):
    """Raised when the provider's configuration is missing or invalid."""


class RequestFailedError(AlpharunError):
    """Raised when a request to the Alpharun API did not succeed.

    Attributes:
        method: HTTP method of the request, for example ``POST``.
        path: Path below the base URL, for example ``/job-openings``.
        attempts: Number of times the request was sent.
        outcome_unknown: True when Alpharun may have applied the request.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        attempts: int = 1,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown


class TransportError(RequestFailedError):
    """Raised when no HTTP response arrived: refused, reset or timed out."""


class ApiError(RequestFailedError):
    """Raised for an HTTP response whose status means failure.

    Attributes:
        status: The HTTP status code.
        api_message: The error text from the response body, or a short
            excerpt of the body when it carries no message.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        api_message: str,
        attempts: int = 1,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(
            message,
            method=method,
            path=path,
            attempts=attempts,
            outcome_unknown=outcome_unknown,
        )
        self.status = status
        self.api_message = api_message


class InvalidRequestError(ApiError):
    """Raised for 400, 413 and 422: Alpharun rejected the request body."""


class AuthenticationError(ApiError):
    """Raised for 401 and 403: the API key is missing, wrong or revoked."""


class NotFoundError(ApiError):
    """Raised for 404: the job type id does not exist in this company."""


class ConflictError(ApiError):
    """Raised for 409: a job opening or job type with this name exists."""


class RateLimitedError(ApiError):
    """Raised for 429 once the retry attempts or the retry time ran out."""


class ServerError(ApiError):
    """Raised for 5xx responses that were not retried or kept failing."""


class UnexpectedResponseError(ApiError):
    """Raised for a response that is not the published shape.

    Examples: a 200 whose body is not JSON, lacks ``interview_link``, or an
    unexpected status such as 302.
    """
