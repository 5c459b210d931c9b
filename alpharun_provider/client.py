"""HTTP client for the Alpharun REST API.

One ``AlpharunClient`` serves every worker thread of a provider process: it
keeps one ``requests.Session`` (connection reuse), one ``Pacer`` (one request
rate for all threads) and the retry policy for every call.

Retry policy, applied in ``AlpharunClient._send``:

* 429: wait the time ``Retry-After`` gives (seconds or an HTTP date), else an
  exponential backoff with jitter, then send again.
* 503, and a connection that could not be opened: backoff, then send again.
* 502, 504, a read timeout and a connection dropped after sending: send again
  only for ``PATCH``. ``POST /job-openings`` is not idempotent, so these end
  it with ``outcome_unknown`` set, as does a 500.
* Every other status fails at once.

Retries stop after ``max_attempts`` sends or ``max_retry_time`` seconds,
whichever comes first. Each call logs one INFO line (method, path, status,
milliseconds) and each retry one WARNING line. Neither contains the API key or
a request body.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters
import requests.auth

from .config import Settings
from .errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RequestFailedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from .pacing import Pacer

logger = logging.getLogger("alpharun_provider.client")

MAX_RESPONSE_BYTES = 1024 * 1024
BACKOFF_BASE = 0.5  # seconds before the second send
BACKOFF_MAX = 30.0
USER_AGENT = "alpharun-provider/0.1"

_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitedError,
}


class _BearerAuth(requests.auth.AuthBase):
    """Adds the Authorization header. Its repr never shows the key."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.api_key}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(api_key=<hidden>)"


@dataclass(frozen=True)
class CreatedJobOpening:
    """The result of ``POST /job-openings``: the ids and the interview link."""

    id: str
    interview_link: str
    job_type_id: str


@dataclass
class _Retry:
    """A failed send that may be sent again after ``wait`` seconds."""

    reason: str
    wait: float | None  # None: use the backoff
    error: RequestFailedError


class AlpharunClient:
    """A thread-safe client for one Alpharun API URL and key."""

    def __init__(
        self,
        settings: Settings,
        *,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._auth = _BearerAuth(settings.require_api_key())
        self._pacer = pacer or Pacer()
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=8, max_retries=0
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = USER_AGENT

    def __repr__(self) -> str:
        return f"AlpharunClient(api_url={self._settings.api_url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def create_job_opening(self, body: Mapping[str, Any]) -> CreatedJobOpening:
        """Send ``POST /job-openings`` once; it is never sent again on failure.

        Raises a RequestFailedError subclass. When ``outcome_unknown`` is set
        on it, the opening may exist in Alpharun.
        """
        payload = self._send("POST", "/job-openings", body, idempotent=False)
        opening = _dig(payload, "data", "job_opening")
        job_type = opening.get("job_type") if isinstance(opening, dict) else None
        opening_id = _text_field(opening, "id")
        link = _text_field(opening, "interview_link")
        job_type_id = _text_field(job_type, "id")
        if opening_id is None or link is None or job_type_id is None:
            missing = [
                name
                for name, value in (
                    ("id", opening_id),
                    ("interview_link", link),
                    ("job_type.id", job_type_id),
                )
                if value is None
            ]
            raise UnexpectedResponseError(
                "POST /job-openings returned 200 without "
                f"{', '.join(missing)} in data.job_opening"
                + (f" (job opening id {opening_id})" if opening_id else ""),
                method="POST",
                path="/job-openings",
                status=200,
                api_message=_excerpt(json.dumps(payload)),
                outcome_unknown=True,
            )
        return CreatedJobOpening(opening_id, link, job_type_id)

    def update_job_type(
        self, job_type_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Send ``PATCH /job-types/{id}`` and return the job type object."""
        path = f"/job-types/{urllib.parse.quote(job_type_id, safe='')}"
        payload = self._send("PATCH", path, body, idempotent=True)
        job_type = _dig(payload, "data", "job_type")
        if not isinstance(job_type, dict) or _text_field(job_type, "id") is None:
            raise UnexpectedResponseError(
                f"PATCH {path} returned 200 without data.job_type.id",
                method="PATCH",
                path=path,
                status=200,
                api_message=_excerpt(json.dumps(payload)),
            )
        return job_type

    def _send(
        self, method: str, path: str, body: Mapping[str, Any], *, idempotent: bool
    ) -> Any:
        try:
            return self._send_with_retries(method, path, body, idempotent)
        except RequestFailedError as error:
            raise self._redacted(error) from None

    def _redacted(self, error: RequestFailedError) -> RequestFailedError:
        """Remove the API key from text that the server may have echoed."""
        key = self._auth.api_key
        error.message = error.message.replace(key, "<API key>")
        error.args = (error.message,)
        if isinstance(error, ApiError):
            error.api_message = error.api_message.replace(key, "<API key>")
        return error

    def _send_with_retries(
        self, method: str, path: str, body: Mapping[str, Any], idempotent: bool
    ) -> Any:
        deadline = self._clock() + self._settings.max_retry_time
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, path, body, idempotent, attempt)
            if not isinstance(outcome, _Retry):
                return outcome
            wait = outcome.wait
            if wait is None:
                wait = _backoff(attempt)
            if attempt >= self._settings.max_attempts:
                outcome.error.message += (
                    f" (gave up after {attempt} attempts: {outcome.reason})"
                )
                outcome.error.args = (outcome.error.message,)
                raise outcome.error
            if self._clock() + wait > deadline:
                outcome.error.message += (
                    f" (gave up after {attempt} attempts: waiting {wait:.1f} s more "
                    f"would pass alpharun:maxRetryTime "
                    f"{self._settings.max_retry_time:g} s)"
                )
                outcome.error.args = (outcome.error.message,)
                raise outcome.error
            logger.warning(
                "%s %s attempt %d/%d failed (%s); retrying in %.1f s",
                method,
                path,
                attempt,
                self._settings.max_attempts,
                outcome.reason,
                wait,
            )
            self._sleep(wait)

    def _attempt(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        idempotent: bool,
        attempt: int,
    ) -> Any:
        """Send once; return the parsed JSON body, a _Retry, or raise."""
        self._pacer.acquire()
        started = self._clock()
        try:
            response = self._session.request(
                method,
                self._settings.api_url + path,
                data=json.dumps(body).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
                auth=self._auth,
                timeout=(self._settings.connect_timeout, self._settings.timeout),
                allow_redirects=False,
                stream=True,
            )
            raw = _read_limited(response)
        except requests.RequestException as error:
            elapsed_ms = (self._clock() - started) * 1000
            logger.info("%s %s -> no response in %.0f ms", method, path, elapsed_ms)
            return self._transport_failure(method, path, error, idempotent, attempt)
        elapsed_ms = (self._clock() - started) * 1000
        logger.info(
            "%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed_ms
        )
        return self._handle(method, path, response, raw, idempotent, attempt)

    def _transport_failure(
        self,
        method: str,
        path: str,
        error: requests.RequestException,
        idempotent: bool,
        attempt: int,
    ) -> _Retry:
        not_sent = _never_sent(error)
        if isinstance(error, requests.Timeout) and not not_sent:
            reason = f"no response within {self._settings.timeout:g} s (read timeout)"
        elif not_sent:
            reason = f"could not connect to {self._settings.api_url}: {_cause(error)}"
        else:
            reason = f"connection failed after sending: {_cause(error)}"
        failure = TransportError(
            f"{method} {path} failed: {reason}",
            method=method,
            path=path,
            attempts=attempt,
            outcome_unknown=not not_sent and not idempotent,
        )
        if failure.outcome_unknown or isinstance(error, requests.exceptions.InvalidURL):
            raise failure from None
        return _Retry(reason, None, failure)

    def _handle(
        self,
        method: str,
        path: str,
        response: requests.Response,
        raw: bytes | None,
        idempotent: bool,
        attempt: int,
    ) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            self._pacer.record_success()
            return _parse_json(
                method, path, status, raw, outcome_unknown=not idempotent
            )
        error = _status_error(method, path, response, raw, attempt)
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            self._pacer.record_rate_limited(wait if wait is not None else 1.0)
            return _Retry("HTTP 429 Too Many Requests", wait, error)
        if status == 503 or (idempotent and status in (502, 504)):
            return _Retry(f"HTTP {status} {response.reason}", None, error)
        if status >= 500 and not idempotent:
            error.outcome_unknown = True
        if status == 409 and not idempotent and attempt > 1:
            # An earlier send got 429 or 503 but may still have created the
            # opening, so this conflict may be with the opening itself.
            error.outcome_unknown = True
        raise error


def _status_error(
    method: str,
    path: str,
    response: requests.Response,
    raw: bytes | None,
    attempt: int,
) -> ApiError:
    status = response.status_code
    error_class = _STATUS_ERRORS.get(status)
    if error_class is None:
        error_class = ServerError if status >= 500 else UnexpectedResponseError
    api_message = _api_message(raw, response.headers.get("Content-Type", ""))
    reason = response.reason or ""
    return error_class(
        f"{method} {path} failed with HTTP {status} {reason}".rstrip()
        + (f": {api_message}" if api_message else ""),
        method=method,
        path=path,
        status=status,
        api_message=api_message,
        attempts=attempt,
    )


def _read_limited(response: requests.Response) -> bytes | None:
    """Read the body; return None for a body over MAX_RESPONSE_BYTES."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(
    method: str, path: str, status: int, raw: bytes | None, *, outcome_unknown: bool
) -> Any:
    problem = None
    payload: Any = None
    if raw is None:
        problem = f"a body larger than {MAX_RESPONSE_BYTES} bytes"
    else:
        try:
            payload = json.loads(raw)
        except ValueError:
            problem = "a body that is not JSON: " + (_excerpt_bytes(raw) or "(empty)")
        else:
            if not isinstance(payload, dict):
                problem = f"a JSON {type(payload).__name__} instead of an object"
    if problem is not None:
        raise UnexpectedResponseError(
            f"{method} {path} returned HTTP {status} with {problem}",
            method=method,
            path=path,
            status=status,
            api_message=problem,
            outcome_unknown=outcome_unknown,
        )
    return payload


def _api_message(raw: bytes | None, content_type: str) -> str:
    """Return the error text of a body whose shape Alpharun never published."""
    if raw is None:
        return f"(error body larger than {MAX_RESPONSE_BYTES} bytes)"
    try:
        payload = json.loads(raw)
    except ValueError:
        return _excerpt_bytes(raw, html="html" in content_type.lower())
    for candidate in (
        _dig(payload, "error", "message"),
        _dig(payload, "message"),
        _dig(payload, "error"),
        _dig(payload, "detail"),
        _dig(payload, "errors"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return _excerpt(candidate)
        if isinstance(candidate, list) and candidate:
            return _excerpt("; ".join(str(item) for item in candidate))
    return _excerpt(json.dumps(payload))


def _excerpt_bytes(raw: bytes, *, html: bool = False) -> str:
    text = raw.decode("utf-8", errors="replace")
    if html or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        shown = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
        return "an HTML page: " + _excerpt(shown)
    return _excerpt(text)


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dig(payload: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _text_field(payload: Any, key: str) -> str | None:
    """Return payload[key] as a string; ids may arrive as numbers."""
    value = payload.get(key) if isinstance(payload, dict) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)) and str(value).strip():
        return str(value)
    return None


def _retry_after(header: str | None) -> float | None:
    """Parse Retry-After as seconds or as an HTTP date; None when absent."""
    if header is None:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: half fixed, half random."""
    ceiling = min(BACKOFF_BASE * 2.0 ** (attempt - 1), BACKOFF_MAX)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _never_sent(error: requests.RequestException) -> bool:
    """Return True when the request surely never reached the server."""
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.InvalidURL)):
        return True
    if not isinstance(error, requests.ConnectionError):
        return False
    text = repr(error)
    return "NewConnectionError" in text or "NameResolutionError" in text


def _cause(error: BaseException) -> str:
    """Return the innermost readable reason of a requests exception."""
    reason = error.args[0] if error.args else error
    inner = getattr(reason, "reason", None)
    if inner is not None:
        reason = inner
    text = str(reason)
    match = re.search(r"\[Errno -?\d+\] [^')\]]+|Connection refused|timed out", text)
    return match.group(0) if match else _excerpt(text, 160)
