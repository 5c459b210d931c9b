"""Request handling of the sandbox, independent of the HTTP server.

``SandboxApp.handle`` maps a ``Request`` to a ``Response``. It serves three
route groups:

- ``/api/v1``: the published endpoints, with Bearer auth and faults,
- ``/_sandbox``: control endpoints for tests, without auth,
- ``/i/<token>``: the interview link pages, without auth.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from . import pages
from .errors import InvalidRequest, SandboxError, error_code
from .faults import (
    BODYLESS_STATUSES,
    PHASE_BEFORE,
    Faults,
    ScriptEntry,
    parse_fault_settings,
)
from .schemas import (
    create_job_opening_validator,
    dashboard_job_type_validator,
    update_job_type_validator,
)
from .stats import RequestStats
from .store import Store

logger = logging.getLogger("alpharun_provider.sandbox")

API_PREFIX = "/api/v1"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
# The published payloads nest at most 2 levels deep. Python's json parser,
# json.dumps and the schema validator recurse per level and raise
# RecursionError near sys.getrecursionlimit() (1000 by default), so deeper
# bodies are rejected.
MAX_JSON_DEPTH = 100
UPDATABLE_JOB_TYPE_FIELDS = (
    "name",
    "job_description",
    "ai_interviewer_guidance",
    "resume_collection_type",
    "should_force_fullscreen",
    "should_record_video",
)
PATCH_RESPONSE_FIELDS = (
    "id",
    "name",
    "job_description",
    "ai_interviewer_guidance",
    "qualifications",
    "should_force_fullscreen",
    "should_record_video",
)


@dataclass
class Request:
    """An HTTP request passed to the app. ``path`` excludes the query string."""

    method: str
    path: str
    headers: Message | dict[str, str]
    body: bytes = b""


@dataclass
class Response:
    """An HTTP response. With ``drop`` the server closes the connection instead.

    ``fault`` marks a response that the rate limit or a script entry made or
    delayed.
    """

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    fault: bool = False


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> Response:
    """Build a JSON response."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, JSON_TYPE, dict(headers or {}))


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """Build ``{"error": {"code": ..., "message": ...}}`` with ``status``."""
    payload = {"error": {"code": error_code(status), "message": message}}
    return json_response(status, payload, headers)


def html_response(status: int, text: str) -> Response:
    """Build an HTML response."""
    return Response(status, text.encode("utf-8"), HTML_TYPE)


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass
class Route:
    """A path pattern with one handler per method."""

    pattern: re.Pattern[str]
    handlers: dict[str, Handler]


class SandboxApp:
    """Alpharun API behaviour over a ``Store``, with faults and stats.

    ``root_url`` returns the server's root URL and is read when a link is
    built, so stored openings get links to the current port. ``stopping`` is
    set on shutdown and cuts every injected delay short.
    """

    def __init__(
        self,
        store: Store,
        api_key: str,
        root_url: Callable[[], str],
        faults: Faults | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.faults = faults or Faults()
        self.stats = RequestStats()
        self._api_key = api_key.encode("utf-8")
        self._root_url = root_url
        self._stopping = stopping or threading.Event()
        self._create_validator = create_job_opening_validator()
        self._update_validator = update_job_type_validator()
        self._dashboard_validator = dashboard_job_type_validator()
        self._api_routes = self._build_api_routes()
        self._other_routes = self._build_other_routes()

    def _build_api_routes(self) -> list[Route]:
        return [
            _route(r"/job-openings", POST=self._create_job_opening),
            _route(r"/job-types/(?P<id>[^/]+)", PATCH=self._update_job_type),
        ]

    def _build_other_routes(self) -> list[Route]:
        return [
            _route(r"/i/(?P<token>[^/]+)", GET=self._interview_page),
            _route(r"/_sandbox/job-openings", GET=self._list_job_openings),
            _route(
                r"/_sandbox/job-openings/(?P<id>[^/]+)/close",
                POST=self._close_job_opening,
            ),
            _route(
                r"/_sandbox/job-types",
                GET=self._list_job_types,
                POST=self._create_dashboard_job_type,
            ),
            _route(r"/_sandbox/reset", POST=self._reset),
            _route(r"/_sandbox/stats", GET=self._get_stats),
            _route(
                r"/_sandbox/faults",
                GET=self._get_faults,
                PUT=self._put_faults,
                DELETE=self._delete_faults,
            ),
        ]

    # Entry points

    def handle(self, request: Request) -> Response:
        """Return the response to one request, with 500 for unexpected errors."""
        if self._is_api(request.path):
            return self._handle_api(request)
        return self._safely_dispatch(self._other_routes, request, request.path)

    def reject_too_large(self, request: Request, limit: int) -> Response:
        """Return the 413 response to a request whose body exceeds ``limit`` bytes."""
        response = error_response(
            413, f"request body exceeds the limit of {limit} bytes"
        )
        if self._is_api(request.path):
            self.stats.count_request()
            self.stats.count_status(413)
        return response

    def interview_link(self, token: str) -> str:
        """Return the interview URL of a token."""
        return f"{self._root_url()}/i/{token}"

    def public_opening(self, record: dict[str, Any]) -> dict[str, Any]:
        """Return a stored opening in the ``/_sandbox/job-openings`` form."""
        opening = {key: value for key, value in record.items() if key != "token"}
        opening["interview_link"] = self.interview_link(record["token"])
        return opening

    def create_dashboard_job_type(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Validate and insert a job type as the dashboard would."""
        self._dashboard_validator.validate(fields)
        return self.store.create_job_type(fields)

    def reset(self) -> None:
        """Clear job types, job openings, faults and stats."""
        self.store.reset()
        self.faults.clear()
        self.stats.reset()

    # API pipeline

    @staticmethod
    def _is_api(path: str) -> bool:
        return path == API_PREFIX or path.startswith(API_PREFIX + "/")

    def _handle_api(self, request: Request) -> Response:
        self.stats.count_request()
        response = self._apply_faults(request)
        if response.drop:
            self.stats.count_dropped()
        else:
            self.stats.count_status(response.status)
        return response

    def _apply_faults(self, request: Request) -> Response:
        api_path = request.path[len(API_PREFIX) :] or "/"
        self._stopping.wait(self.faults.latency_seconds())
        retry_after = self.faults.take_token()
        if retry_after is not None:
            self.stats.count_rate_limited()
            limited = error_response(
                429,
                f"rate limit exceeded, retry after {retry_after} s",
                {"Retry-After": str(retry_after)},
            )
            limited.fault = True
            return limited
        entry = self.faults.next_entry(request.method, api_path)
        if entry is not None and entry.phase == PHASE_BEFORE:
            return self._scripted_response(entry)
        response = self._safely_dispatch(self._api_routes, request, api_path)
        if entry is None:
            return response
        if entry.replaces_response:
            return self._scripted_response(entry)
        self._stopping.wait(entry.delay_ms / 1000.0)
        response.fault = True
        return response

    def _scripted_response(self, entry: ScriptEntry) -> Response:
        self._stopping.wait(entry.delay_ms / 1000.0)
        headers = dict(entry.headers or {})
        if entry.drop or entry.status is None:
            return Response(0, drop=True, fault=True)
        if entry.status in BODYLESS_STATUSES:
            response = Response(entry.status, content_type=None)
        elif entry.body is None:
            response = error_response(
                entry.status, f"injected fault: status {entry.status}"
            )
        elif isinstance(entry.body, str):
            response = Response(entry.status, entry.body.encode("utf-8"), HTML_TYPE)
        else:
            response = json_response(entry.status, entry.body)
        content_type = _pop_header(headers, "Content-Type")
        if content_type is not None:
            response.content_type = content_type
        response.headers.update(headers)
        response.fault = True
        return response

    def _safely_dispatch(
        self, routes: list[Route], request: Request, path: str
    ) -> Response:
        try:
            return self._dispatch(routes, request, path)
        except SandboxError as error:
            return error_response(error.status, error.message)
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            return error_response(500, "internal sandbox error, see the sandbox log")

    def _dispatch(self, routes: list[Route], request: Request, path: str) -> Response:
        for route in routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            handler = route.handlers.get(request.method)
            if handler is None:
                allowed = ", ".join(sorted(route.handlers))
                return error_response(
                    405,
                    f"method {request.method} is not allowed on {request.path},"
                    f" use {allowed}",
                    {"Allow": allowed},
                )
            return handler(request, match.groupdict())
        return error_response(404, f"no route for {request.method} {request.path}")

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        if not header:
            return error_response(
                401,
                "missing API key, send the header 'Authorization: Bearer <API key>'",
                {"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = header.partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8"), self._api_key
        )
        if not valid:
            return error_response(
                401,
                "invalid API key",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return None

    # Published endpoints

    def _create_job_opening(self, request: Request, params: dict[str, str]) -> Response:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        payload = parse_json_object(request.body)
        self._create_validator.validate(payload)
        opening = self.store.create_job_opening(payload)
        data = {
            "id": opening["id"],
            "interview_link": self.interview_link(opening["token"]),
            "job_type": {"id": opening["job_type_id"]},
        }
        return json_response(200, {"data": {"job_opening": data}})

    def _update_job_type(self, request: Request, params: dict[str, str]) -> Response:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        payload = parse_json_object(request.body)
        self._update_validator.validate(payload)
        changes = {k: payload[k] for k in UPDATABLE_JOB_TYPE_FIELDS if k in payload}
        job_type = self.store.update_job_type(params["id"], changes)
        published = {key: job_type[key] for key in PATCH_RESPONSE_FIELDS}
        return json_response(200, {"data": {"job_type": published}})

    # Interview pages

    def _interview_page(self, request: Request, params: dict[str, str]) -> Response:
        opening = self.store.job_opening_by_token(params["token"])
        if opening is None:
            return html_response(404, pages.not_found_page())
        return html_response(200, pages.interview_page(opening))

    # Control endpoints

    def _list_job_openings(self, request: Request, params: dict[str, str]) -> Response:
        openings = [self.public_opening(record) for record in self.store.job_openings()]
        return json_response(200, {"job_openings": openings})

    def _close_job_opening(self, request: Request, params: dict[str, str]) -> Response:
        record = self.store.close_job_opening(params["id"])
        return json_response(200, {"job_opening": self.public_opening(record)})

    def _list_job_types(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, {"job_types": self.store.job_types()})

    def _create_dashboard_job_type(
        self, request: Request, params: dict[str, str]
    ) -> Response:
        payload = parse_json_object(request.body)
        job_type = self.create_dashboard_job_type(payload)
        return json_response(200, {"job_type": job_type})

    def _reset(self, request: Request, params: dict[str, str]) -> Response:
        self.reset()
        return json_response(200, {"reset": True})

    def _get_stats(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self.stats.to_json())

    def _get_faults(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self.faults.to_json())

    def _put_faults(self, request: Request, params: dict[str, str]) -> Response:
        self.faults.replace(parse_fault_settings(parse_json_object(request.body)))
        return json_response(200, self.faults.to_json())

    def _delete_faults(self, request: Request, params: dict[str, str]) -> Response:
        self.faults.clear()
        return json_response(200, self.faults.to_json())


def _route(pattern: str, **handlers: Handler) -> Route:
    return Route(re.compile(pattern), handlers)


def _pop_header(headers: dict[str, str], name: str) -> str | None:
    for key in list(headers):
        if key.lower() == name.lower():
            return headers.pop(key)
    return None


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Decode a request body as a JSON object, or raise ``InvalidRequest``."""
    if not body.strip():
        raise InvalidRequest("body: the request body is empty, expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"body: the request body is not valid UTF-8: {error}")
    too_deep = InvalidRequest(
        f"body: the request body nests arrays or objects more than"
        f" {MAX_JSON_DEPTH} levels deep"
    )
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise too_deep from None
    except ValueError as error:
        raise InvalidRequest(f"body: the request body is not valid JSON: {error}")
    if not isinstance(payload, dict):
        kind = type(payload).__name__
        raise InvalidRequest(f"body: expected a JSON object, got {_json_kind(kind)}")
    if json_depth(payload) > MAX_JSON_DEPTH:
        raise too_deep
    return payload


def json_depth(value: Any) -> int:
    """Return how many arrays and objects nest in ``value``, without recursion."""
    depth = 0
    pending: list[tuple[int, Any]] = [(0, value)]
    while pending:
        level, item = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth = max(depth, level + 1)
        pending.extend((level + 1, child) for child in children)
    return depth


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _json_kind(python_type: str) -> str:
    names = {"list": "an array", "str": "a string", "int": "a number"}
    names.update({"float": "a number", "bool": "a boolean", "NoneType": "null"})
    return names.get(python_type, python_type)
