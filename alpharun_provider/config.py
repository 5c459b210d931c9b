"""Connection settings, read at run time in the provider process.

Each setting comes from the stack config first, then from the environment, then
from the default:

==================  =========================  ===============================
stack config        environment variable       default
==================  =========================  ===============================
alpharun:apiKey     ALPHARUN_API_KEY           none: required for API calls
alpharun:apiUrl     ALPHARUN_API_URL           https://api.alpharun.com/api/v1
alpharun:timeout    ALPHARUN_TIMEOUT           30 (seconds to wait for a response)
alpharun:maxAttempts ALPHARUN_MAX_ATTEMPTS     5 (sends per request, first included)
alpharun:maxRetryTime ALPHARUN_MAX_RETRY_TIME  120 (seconds spent retrying one request)
alpharun:logLevel   ALPHARUN_LOG_LEVEL         WARNING (INFO logs every API call)
==================  =========================  ===============================

The log level is applied by ``provider.AlpharunProvider.configure``.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

DEFAULT_API_URL = "https://api.alpharun.com/api/v1"
DEFAULT_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_RETRY_TIME = 120.0

MISSING_KEY_MESSAGE = (
    "Missing Alpharun API key. Set it for this stack with\n"
    "    pulumi config set --secret alpharun:apiKey <key>\n"
    "or export ALPHARUN_API_KEY=<key>. Keys are made in the Alpharun dashboard "
    "under Developer Settings. For the local sandbox, use the key that "
    "alpharun-sandbox printed or was started with."
)

# Upper bounds that keep waits within what a pipeline run can use; larger
# timeouts also overflow the socket layer.
_MAXIMUMS = {"timeout": 3600.0, "max_attempts": 100.0, "max_retry_time": 86400.0}

# Each entry: attribute, stack config key, environment variable.
_SOURCES = (
    ("api_key", "alpharun:apiKey", "ALPHARUN_API_KEY"),
    ("api_url", "alpharun:apiUrl", "ALPHARUN_API_URL"),
    ("timeout", "alpharun:timeout", "ALPHARUN_TIMEOUT"),
    ("max_attempts", "alpharun:maxAttempts", "ALPHARUN_MAX_ATTEMPTS"),
    ("max_retry_time", "alpharun:maxRetryTime", "ALPHARUN_MAX_RETRY_TIME"),
)


@dataclass(frozen=True)
class Settings:
    """The resolved connection settings for one provider process.

    ``api_key`` is excluded from ``repr`` so that a logged or printed settings
    object never shows it.
    """

    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    timeout: float = DEFAULT_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_retry_time: float = DEFAULT_MAX_RETRY_TIME

    @property
    def connect_timeout(self) -> float:
        """Seconds to wait for the TCP and TLS connection to open."""
        return min(self.timeout, MAX_CONNECT_TIMEOUT)

    def require_api_key(self) -> str:
        """Return the API key, or raise ConfigurationError with the fix."""
        if not self.api_key:
            raise ConfigurationError(MISSING_KEY_MESSAGE)
        return self.api_key


def resolve_settings(
    config: Mapping[str, Any] | Callable[[str], Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from stack config values and the environment.

    ``config`` is either a mapping of full config keys (``alpharun:apiUrl``) or
    a ``get`` function such as ``pulumi.dynamic.Config.get``. A missing API key
    is not an error here, because preview needs no key; calls that reach the
    API raise through ``Settings.require_api_key``.
    """
    environ = os.environ if environ is None else environ
    lookup: Callable[[str], Any]
    if config is None:
        lookup = _no_config
    elif callable(config):
        lookup = config
    else:
        lookup = config.get
    raw: dict[str, str] = {}
    for attribute, config_key, variable in _SOURCES:
        value = lookup(config_key)
        if value is None or value == "":
            value = environ.get(variable)
        if value is not None and str(value) != "":
            raw[attribute] = str(value)
    return _parse(raw)


def _no_config(key: str) -> None:
    return None


def _parse(raw: Mapping[str, str]) -> Settings:
    api_url = raw.get("api_url", DEFAULT_API_URL).rstrip("/")
    check_api_url(api_url)
    return Settings(
        api_key=_api_key(raw.get("api_key")),
        api_url=api_url,
        timeout=_positive_number(raw, "timeout", DEFAULT_TIMEOUT),
        max_attempts=int(_positive_number(raw, "max_attempts", DEFAULT_MAX_ATTEMPTS)),
        max_retry_time=_positive_number(raw, "max_retry_time", DEFAULT_MAX_RETRY_TIME),
    )


def _api_key(text: str | None) -> str | None:
    """Strip the key; reject characters an HTTP header cannot carry.

    The message never repeats the key, because requests would echo an invalid
    header value, key included, in its own exception text.
    """
    if text is None:
        return None
    key = text.strip()
    if not key.isascii() or not key.isprintable() or " " in key:
        raise ConfigurationError(
            "Invalid alpharun:apiKey (or ALPHARUN_API_KEY): the key contains "
            "spaces, control or non-ASCII characters. Copy it again from the "
            "Alpharun dashboard and set it with: "
            "pulumi config set --secret alpharun:apiKey <key>"
        )
    return key or None


def _positive_number(raw: Mapping[str, str], attribute: str, default: float) -> float:
    text = raw.get(attribute)
    if text is None:
        return default
    config_key, variable = next((c, v) for a, c, v in _SOURCES if a == attribute)
    maximum = _MAXIMUMS[attribute]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= maximum:
        raise ConfigurationError(
            f"Invalid {config_key} (or {variable}): {text!r} is not a positive "
            f"number of at most {maximum:g}. Set it with: pulumi config set "
            f"{config_key} <number>"
        )
    if attribute == "max_attempts" and value != int(value):
        raise ConfigurationError(
            f"Invalid {config_key} (or {variable}): {text!r} is not a whole "
            f"number. Set it with: pulumi config set {config_key} 5"
        )
    return value


def check_api_url(api_url: str) -> None:
    """Raise ConfigurationError unless the URL is https, or http on loopback.

    Plain http would send the API key in clear text, so it is accepted only for
    a server on this machine, such as the local sandbox.
    """
    try:
        parts = urlsplit(api_url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts, hostname = urlsplit(""), None
    if (
        parts.scheme not in ("http", "https")
        or not hostname
        or parts.query
        or parts.fragment
    ):
        raise ConfigurationError(
            f"Invalid alpharun:apiUrl {api_url!r}: expected an absolute https URL "
            f"without query or fragment, such as {DEFAULT_API_URL}."
        )
    if parts.scheme == "http" and not is_loopback(hostname):
        raise ConfigurationError(
            f"Rejected alpharun:apiUrl {api_url!r}: plain http would send the API "
            "key unencrypted. Use https, or http only for a server on this "
            "machine (127.0.0.0/8, ::1 or localhost) such as alpharun-sandbox."
        )


def is_loopback(hostname: str) -> bool:
    """Return True for localhost and for addresses in 127.0.0.0/8 or ::1."""
    if hostname.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
