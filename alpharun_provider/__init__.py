"""Pulumi resources for Alpharun job types and job openings.

``JobOpening`` creates a job opening and outputs its ``interview_link``;
``JobType`` keeps the settings of an existing job type. Both read the API key
and URL from the stack config (``alpharun:apiKey``, ``alpharun:apiUrl``) or
from ``ALPHARUN_API_KEY`` and ``ALPHARUN_API_URL`` when Pulumi runs them.
"""

from .errors import (
    AlpharunError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RequestFailedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from .job_opening import (
    InlineJobTypeArgs,
    JobOpening,
    JobOpeningArgs,
    JobOpeningProvider,
    LinkAccessArgs,
)
from .job_type import JobType, JobTypeArgs, JobTypeProvider

__all__ = [
    "AlpharunError",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "InlineJobTypeArgs",
    "InvalidRequestError",
    "JobOpening",
    "JobOpeningArgs",
    "JobOpeningProvider",
    "JobType",
    "JobTypeArgs",
    "JobTypeProvider",
    "LinkAccessArgs",
    "NotFoundError",
    "RateLimitedError",
    "RequestFailedError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
]
