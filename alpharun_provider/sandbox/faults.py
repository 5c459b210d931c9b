"""Fault injection for ``/api/v1`` requests: latency, a rate limit and a script.

A fault configuration is the JSON object that ``PUT /_sandbox/faults`` takes::

    {"latency_ms": 0,
     "rate_limit": {"rps": 2.0, "burst": 1} | null,
     "script": [{"method": "POST", "path": "/job-openings", "times": 1,
                 "phase": "before", "status": 503, "body": null,
                 "headers": {"Retry-After": "1"}, "delay_ms": 0,
                 "drop": false}]}

Script entries are used in list order: each API request takes the first
entry whose method and path glob match it and that has uses left.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import InvalidRequest
from .schemas import PayloadValidator

PHASE_BEFORE = "before"
PHASE_AFTER = "after"

SCRIPT_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "nullable": True},
        "path": {"type": "string"},
        "times": {"type": "integer", "minimum": 1},
        "phase": {"type": "string", "enum": [PHASE_BEFORE, PHASE_AFTER]},
        "status": {"type": "integer", "nullable": True, "minimum": 100, "maximum": 599},
        "headers": {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"type": "string"},
        },
        "delay_ms": {"type": "integer", "minimum": 0},
        "drop": {"type": "boolean"},
    },
}

FAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "latency_ms": {"type": "integer", "minimum": 0},
        "rate_limit": {
            "type": "object",
            "nullable": True,
            "required": ["rps"],
            "properties": {
                "rps": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
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
        settings.rps = float(rate_limit["rps"])
        settings.burst = rate_limit.get("burst", 1)
    for index, raw in enumerate(config.get("script") or []):
        settings.script.append(_parse_entry(index, raw))
    return settings


def _parse_entry(index: int, raw: dict[str, Any]) -> ScriptEntry:
    entry = ScriptEntry(**{key: raw[key] for key in raw if key in _ENTRY_KEYS})
    if entry.phase == PHASE_BEFORE and not entry.replaces_response:
        raise InvalidRequest(
            f"script[{index}]: a 'before' entry needs a status or drop: true"
        )
    return entry


_ENTRY_KEYS = frozenset(ScriptEntry.__dataclass_fields__)


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
