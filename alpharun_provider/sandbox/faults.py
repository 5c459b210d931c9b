"""Fault injection for ``/api/v1`` requests: latency, a rate limit and a script.

A fault configuration is the JSON object that ``PUT /_sandbox/faults`` takes::

    {"latency_ms": 0,
     "rate_limit": {"rps": 2.0, "burst": 1} | null,
     "script": [{"method": "POST", "path": "/job-openings", "times": 1,
                 "phase": "before", "status": 503, "body": null,
                 "headers": {"Retry-After": "1"}, "delay_ms": 0,
                 "drop": false}]}

Script entries are used in list order: each API request takes the first
entry whose method and path glob match it and that has uses left. Unknown
keys, delays above 600000 ms, a rate outside 0.001-100000 requests per second,
and headers that would break the response framing are rejected.
"""

from __future__ import annotations

import fnmatch
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import InvalidRequest
from .schemas import PayloadValidator, show_value

PHASE_BEFORE = "before"
PHASE_AFTER = "after"

MAX_DELAY_MS = 600_000
MIN_RPS = 0.001
MAX_RPS = 100_000
# In the HTTP grammar a header name is a token: one or more of these characters.
HEADER_NAME_PATTERN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A header value is tabs, spaces, visible ASCII and the bytes 0x80-0xFF, which
# the server writes as Latin-1 (U+0080-U+00FF). CR and LF would end the header.
HEADER_VALUE_PATTERN = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
# The server frames each response with Content-Length and Connection, so a
# scripted copy of these or a Transfer-Encoding would break the framing.
SERVER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
# A response with these statuses ends after its header section (RFC 9112
# section 6.3), so the server sends it without a body.
BODYLESS_STATUSES = frozenset({204, 304})

SCRIPT_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "method": {"type": "string", "nullable": True},
        "path": {"type": "string"},
        "times": {"type": "integer", "minimum": 1},
        "phase": {"type": "string", "enum": [PHASE_BEFORE, PHASE_AFTER]},
        # 1xx statuses are interim responses, and a client would wait for a
        # final one after them.
        "status": {"type": "integer", "nullable": True, "minimum": 200, "maximum": 599},
        "body": {},
        "headers": {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"type": "string"},
        },
        "delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
        "drop": {"type": "boolean"},
    },
}

FAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "latency_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
        "rate_limit": {
            "type": "object",
            "nullable": True,
            "additionalProperties": False,
            "required": ["rps"],
            "properties": {
                "rps": {"type": "number", "minimum": MIN_RPS, "maximum": MAX_RPS},
                "burst": {"type": "integer", "minimum": 1},
            },
        },
        "script": {"type": "array", "items": SCRIPT_ENTRY_SCHEMA},
    },
}


class TokenBucket:
    """Token bucket that refills ``rps`` tokens per second up to ``burst``.

    It starts full. ``clock`` returns seconds and defaults to
    ``time.monotonic``.
    """

    def __init__(
        self, rps: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rps = rps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> int | None:
        """Take one token and return None, or return whole seconds until one is free."""
        now = self._clock()
        elapsed = now - self._updated
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rps)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._tokens) / self.rps))


@dataclass
class ScriptEntry:
    """A scripted response for the next ``times`` requests that match it.

    With ``phase`` "before" the request is not applied, and the server sends
    ``status`` or drops the connection after ``delay_ms``. With "after" the
    request is applied first. Then the server sends ``status``, drops the
    connection, or, when ``status`` is None, sends the real response
    ``delay_ms`` late.
    """

    method: str | None = None
    path: str = "*"
    times: int = 1
    phase: str = PHASE_BEFORE
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    delay_ms: int = 0
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request's method and path (after ``/api/v1``) match."""
        if self.method not in (None, "*") and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    @property
    def replaces_response(self) -> bool:
        """True when the entry sends its own status or drops the connection."""
        return self.drop or self.status is not None


@dataclass
class FaultSettings:
    """A complete fault configuration. The default injects no fault."""

    latency_ms: int = 0
    rps: float | None = None
    burst: int = 1
    script: list[ScriptEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration in the ``/_sandbox/faults`` JSON form."""
        rate_limit = None
        if self.rps is not None:
            rate_limit = {"rps": self.rps, "burst": self.burst}
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": rate_limit,
            "script": [asdict(entry) for entry in self.script],
        }


_FAULTS_VALIDATOR = PayloadValidator(FAULTS_SCHEMA)


def parse_fault_settings(config: Any) -> FaultSettings:
    """Build ``FaultSettings`` from the JSON form, or raise ``InvalidRequest``.

    Absent keys take their defaults. A "before" entry must give a ``status``
    or ``drop``, because it replaces the real response.
    """
    if not isinstance(config, dict):
        raise InvalidRequest("body: the fault configuration must be a JSON object")
    _FAULTS_VALIDATOR.validate(config)
    rate_limit = config.get("rate_limit")
    settings = FaultSettings(latency_ms=config.get("latency_ms", 0))
    if rate_limit is not None:
        settings.rps = _parse_rps(rate_limit["rps"])
        settings.burst = rate_limit.get("burst", 1)
    for index, raw in enumerate(config.get("script") or []):
        settings.script.append(_parse_entry(index, raw))
    return settings


def _parse_rps(value: float) -> float:
    # The schema's bounds pass NaN, which compares false with every number.
    rps = float(value)
    if math.isnan(rps):
        raise InvalidRequest(
            f"rate_limit.rps: NaN is not a number from {MIN_RPS} to {MAX_RPS}"
        )
    return rps


def _parse_entry(index: int, raw: dict[str, Any]) -> ScriptEntry:
    entry = ScriptEntry(**raw)
    field = f"script[{index}]"
    if entry.phase == PHASE_BEFORE and not entry.replaces_response:
        raise InvalidRequest(f"{field}: a 'before' entry needs a status or drop: true")
    if not entry.path.startswith(("/", "*")):
        raise InvalidRequest(
            f"{field}.path: {show_value(entry.path)} must start with / or *,"
            " and it matches the path after /api/v1, e.g. /job-openings"
        )
    if entry.status in BODYLESS_STATUSES and entry.body is not None:
        raise InvalidRequest(
            f"{field}.body: a {entry.status} response has no body,"
            " remove body or use another status"
        )
    for name, value in (entry.headers or {}).items():
        _check_header(f"{field}.headers", name, value)
    return entry


def _check_header(field: str, name: str, value: str) -> None:
    if HEADER_NAME_PATTERN.fullmatch(name) is None:
        raise InvalidRequest(
            f"{field}: {show_value(name)} is not a valid header name,"
            " use letters, digits and !#$%&'*+-.^_`|~"
        )
    if name.lower() in SERVER_HEADERS:
        raise InvalidRequest(
            f"{field}.{name}: the server sets this header itself,"
            " remove it from the script entry"
        )
    if HEADER_VALUE_PATTERN.fullmatch(value) is None:
        raise InvalidRequest(
            f"{field}.{name}: {show_value(value)} is not a valid header value,"
            " use Latin-1 characters without CR, LF or other control characters"
        )


class Faults:
    """Thread-safe holder of the current fault configuration."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._bucket: TokenBucket | None = None
        self.replace(settings or FaultSettings())

    def replace(self, settings: FaultSettings) -> None:
        """Install ``settings`` with a full rate limit bucket."""
        with self._lock:
            self._settings = settings
            self._bucket = None
            if settings.rps is not None:
                self._bucket = TokenBucket(settings.rps, settings.burst)

    def clear(self) -> None:
        """Remove every fault."""
        self.replace(FaultSettings())

    def to_json(self) -> dict[str, Any]:
        """Return the current configuration, with the uses left of each entry."""
        with self._lock:
            return self._settings.to_json()

    def latency_seconds(self) -> float:
        """Return the latency added before each API request, in seconds."""
        with self._lock:
            return self._settings.latency_ms / 1000.0

    def take_token(self) -> int | None:
        """Take a rate limit token and return None, or return Retry-After seconds."""
        with self._lock:
            if self._bucket is None:
                return None
            return self._bucket.take()

    def next_entry(self, method: str, path: str) -> ScriptEntry | None:
        """Use up one match of the first script entry for this request."""
        with self._lock:
            script = self._settings.script
            for index, entry in enumerate(script):
                if entry.matches(method, path):
                    entry.times -= 1
                    if entry.times <= 0:
                        del script[index]
                    return entry
            return None
