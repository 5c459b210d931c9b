"""Shared parts of both resource providers: settings, the client and messages.

The provider objects themselves stay empty, because the SDK pickles them into
every resource's state as ``__provider``. Settings, the API key and the HTTP
client live in this module, once per provider process, and are set by
``configure`` (the stack config) or, failing that, by the environment.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from .client import AlpharunClient
from .config import Settings, resolve_settings
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
from .validation import is_unknown

logger = logging.getLogger("alpharun_provider")
notices = logging.getLogger("alpharun_provider.notice")

INTERNAL_KEYS = frozenset({"__provider"})


class ResourceOperationError(AlpharunError):
    """Raised by a provider method; its text is the user's whole explanation.

    Attributes:
        cause: The client or configuration error behind it.
    """

    def __init__(self, message: str, cause: AlpharunError) -> None:
        super().__init__(message)
        self.cause = cause


class _Runtime:
    """Settings and clients of this process, shared by every provider object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._clients: dict[Settings, AlpharunClient] = {}

    def configure(self, settings: Settings) -> None:
        with self._lock:
            self._settings = settings

    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = resolve_settings()
            return self._settings

    def client(self) -> AlpharunClient:
        settings = self.settings()
        with self._lock:
            client = self._clients.get(settings)
            if client is None:
                client = AlpharunClient(settings)
                self._clients[settings] = client
            return client

    def reset(self) -> None:
        """Forget settings and close clients; used between test programs."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            self._settings = None


runtime = _Runtime()


class AlpharunProvider(ResourceProvider):
    """Base of both providers: reads the stack config in ``configure``."""

    # The object has no attributes and so no secret, and its pickled form in
    # state needs no encryption.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Read alpharun:* stack config, falling back to ALPHARUN_* variables."""
        _install_log_handler(req.config.get("alpharun:logLevel"))
        runtime.configure(resolve_settings(req.config.get))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def client_for(kind: str, name: Any, action: str) -> AlpharunClient:
    """Return the process's client, or raise the missing-key explanation."""
    try:
        return runtime.client()
    except ConfigurationError as error:
        raise ResourceOperationError(
            f"{action} {kind} {_quote(name)} failed: {error}", error
        ) from None


def explain(
    error: AlpharunError,
    *,
    kind: str,
    name: Any,
    alpharun_id: str | None,
    action: str,
) -> ResourceOperationError:
    """Turn a client error into a message naming the resource and next step."""
    subject = f"{kind} {_quote(name)}"
    if alpharun_id:
        subject += f" (Alpharun id {alpharun_id})"
    text = f"{action} {subject} failed: {error}"
    hint = _next_step(error, kind=kind, name=name, action=action)
    if hint:
        text += f"\n{hint}"
    return ResourceOperationError(text, error)


_AUTHENTICATION_HINT = (
    "Alpharun rejected the API key. Set a current key from the dashboard's "
    "Developer Settings with: pulumi config set --secret alpharun:apiKey <key> "
    "(API URL: {api_url})."
)
_NOT_FOUND_HINT = (
    "No job type with this id exists for this API key's company. Check "
    "job_type_id against the Alpharun dashboard."
)
_INVALID_HINT = (
    "Alpharun rejected the values sent. Correct the input named in the message "
    "above and run `pulumi up` again."
)
_RATE_LIMITED_HINT = (
    "Alpharun kept answering 429 Too Many Requests. Run `pulumi up` again later, "
    "or allow longer waits with pulumi config set alpharun:maxRetryTime <seconds>."
)
_NOT_COMPLETED_HINT = (
    "Alpharun did not complete the request. Run `pulumi up` again later."
)
_CONNECTION_HINT = (
    "Check the network connection and alpharun:apiUrl ({api_url}), then run "
    "`pulumi up` again."
)
_OTHER_HINT = "Run `pulumi up` again; if it fails the same way, contact Alpharun."

# Next steps by error class, tried in order; {api_url} is filled in.
_HINTS: tuple[tuple[type[AlpharunError], str], ...] = (
    (AuthenticationError, _AUTHENTICATION_HINT),
    (NotFoundError, _NOT_FOUND_HINT),
    (InvalidRequestError, _INVALID_HINT),
    (RateLimitedError, _RATE_LIMITED_HINT),
    (ServerError, _NOT_COMPLETED_HINT),
    (UnexpectedResponseError, _NOT_COMPLETED_HINT),
    (TransportError, _CONNECTION_HINT),
    (ApiError, _OTHER_HINT),
)
_OUTCOME_UNKNOWN_HINT = (
    "The job opening {name} may now exist in Alpharun: the request may have "
    "reached Alpharun before it failed, so it was not sent again (a second send "
    "could create a second opening with a second interview link). Look for an "
    "opening with this name in the Alpharun dashboard. If it exists, close it "
    "there or give this opening another name, then run `pulumi up` again. If "
    "it does not exist, run `pulumi up` again."
)
_OPENING_CONFLICT_HINT = (
    "A job opening or job type named {name} already exists in Alpharun, and "
    "names are unique. Job openings cannot be closed through the API, so either "
    "give this opening another name, or close the existing opening in the "
    "Alpharun dashboard and run `pulumi up` again. After a replacement, the old "
    "opening keeps the name until it is closed. With an inline job_type, the "
    "new job type may take the opening's name too, so the old job type may "
    "need a new name in the dashboard as well."
)
_JOB_TYPE_CONFLICT_HINT = (
    "Another job type already has this name, and job type names are unique. "
    "Choose another name, or rename the other job type in the Alpharun "
    "dashboard."
)
_REDIRECT_HINT = (
    "Alpharun answered with a redirect, which the provider does not follow. "
    "Check alpharun:apiUrl; the default is https://api.alpharun.com/api/v1."
)
_TIMEOUT_HINT = (
    "Allow slower responses with pulumi config set alpharun:timeout <seconds>, "
    "or run `pulumi up` again later."
)


def _next_step(error: AlpharunError, *, kind: str, name: Any, action: str) -> str:
    if isinstance(error, RequestFailedError) and error.outcome_unknown:
        return _OUTCOME_UNKNOWN_HINT.format(name=_quote(name))
    if isinstance(error, ConflictError):
        if kind == "JobType":
            return _JOB_TYPE_CONFLICT_HINT
        return _OPENING_CONFLICT_HINT.format(name=_quote(name))
    if isinstance(error, ApiError) and 300 <= error.status < 400:
        return _REDIRECT_HINT
    if isinstance(error, TransportError) and "timeout" in error.message:
        return _TIMEOUT_HINT

    for error_class, hint in _HINTS:
        if isinstance(error, error_class):
            return hint.format(api_url=runtime.settings().api_url)
    return ""


def user_inputs(props: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Return the known input keys of props that are set, in a new dict."""
    return {key: props[key] for key in keys if props.get(key) is not None}


def differs(old: Any, new: Any) -> bool:
    """Return True when new may differ from old; unknown values may."""
    if is_unknown(new):
        return True
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        keys = set(old) | set(new)
        return any(differs(old.get(key), new.get(key)) for key in keys)
    if isinstance(new, (list, tuple)) and isinstance(old, (list, tuple)):
        return len(old) != len(new) or any(map(differs, old, new))
    return bool(old != new)


def _quote(name: Any) -> str:
    return repr(name) if isinstance(name, str) else "(name not known)"


_refresh_noted = False


def note_refresh_once() -> None:
    """Say once per process why refresh keeps the stored state."""
    global _refresh_noted
    if not _refresh_noted:
        _refresh_noted = True
        notices.warning(
            "Refresh keeps the stored state of job openings and job types: "
            "Alpharun has no endpoint to read them, so changes made in the "
            "dashboard are not detected."
        )


_handler_installed = False


def _install_log_handler(level_name: Any) -> None:
    """Send this package's log lines to stderr, which Pulumi shows the user.

    The level comes from alpharun:logLevel or ALPHARUN_LOG_LEVEL; WARNING (the
    default) shows retries and notices, INFO adds one line per API call.
    """
    global _handler_installed
    level_text = str(level_name or os.environ.get("ALPHARUN_LOG_LEVEL") or "WARNING")
    level = logging.getLevelName(level_text.upper())
    if not isinstance(level, int):
        raise ConfigurationError(
            f"Invalid alpharun:logLevel (or ALPHARUN_LOG_LEVEL) {level_text!r}: "
            "expected DEBUG, INFO, WARNING or ERROR. Set it with: pulumi config "
            "set alpharun:logLevel INFO"
        )
    logger.setLevel(level)
    if _handler_installed:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("alpharun: %(levelname)s %(message)s"))
    logger.addHandler(handler)
    _handler_installed = True
