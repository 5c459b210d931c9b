"""``Sandbox``: starts, controls and stops the sandbox server in a thread."""

from __future__ import annotations

import logging
import secrets
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .app import API_PREFIX, SandboxApp
from .faults import Faults, parse_fault_settings
from .http_server import SandboxHTTPServer
from .store import Store

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("alpharun_provider.sandbox")

STOP_TIMEOUT_SECONDS = 5.0


class Sandbox:
    """A local Alpharun-compatible API server for tests and demos.

    ``start`` binds ``host:port`` (port 0 takes a free port) and serves in a
    daemon thread. ``api_key`` None generates a random key, readable as
    ``sandbox.api_key``, and an empty key or one with surrounding whitespace
    raises ``ValueError``. ``db_path`` None keeps state in memory until
    ``stop``, and a file keeps it across restarts. ``latency_ms``,
    ``rate_limit`` (requests per second) and ``burst`` set the initial
    faults, which ``reset`` and ``set_faults`` replace.
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | None = None,
        latency_ms: int = 0,
        rate_limit: float | None = None,
        burst: int = 1,
    ) -> None:
        if api_key is not None:
            problem = api_key_problem(api_key)
            if problem is not None:
                raise ValueError(f"api_key: {problem}, pass None to generate a key")
        self.api_key = api_key if api_key is not None else secrets.token_urlsafe(24)
        self.api_key_generated = api_key is None
        self.host = host
        self.port = port
        self.db_path = db_path
        self._initial_faults = _fault_config(latency_ms, rate_limit, burst, None)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        state = self.root_url if self._server is not None else "stopped"
        return f"Sandbox({state})"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Open the database, bind the port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._stopping = threading.Event()
        faults = Faults(parse_fault_settings(self._initial_faults))
        store = Store(self.db_path)
        try:
            app = SandboxApp(
                store, self.api_key, lambda: self.root_url, faults, self._stopping
            )
            server = SandboxHTTPServer((self.host, self.port), app)
        except BaseException:
            store.close()
            raise
        self._app, self._server = app, server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"alpharun-sandbox-{server.server_port}",
            daemon=True,
        )
        self._thread.start()
        database = self.db_path or "memory"
        logger.info("sandbox listening on %s (database: %s)", self.base_url, database)
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and close the database.

        Injected delays end early. Calling ``stop`` on a stopped sandbox does
        nothing.
        """
        server, app = self._server, self._app
        if server is None or app is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if not server.close_connections(STOP_TIMEOUT_SECONDS):
            logger.warning(
                "request handlers still running after %s s", STOP_TIMEOUT_SECONDS
            )
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
        app.store.close()
        self._server = self._app = self._thread = None
        logger.info("sandbox stopped")

    @property
    def root_url(self) -> str:
        """Server URL without a path, e.g. ``http://127.0.0.1:8080``."""
        server = self._running_server()
        host = server.server_name
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{server.server_port}"

    @property
    def base_url(self) -> str:
        """API base URL, e.g. ``http://127.0.0.1:8080/api/v1``."""
        return self.root_url + API_PREFIX

    def job_openings(self) -> list[dict[str, Any]]:
        """Return all job openings as ``GET /_sandbox/job-openings`` does."""
        app = self._running_app()
        return [app.public_opening(record) for record in app.store.job_openings()]

    def job_types(self) -> list[dict[str, Any]]:
        """Return all job types as ``GET /_sandbox/job-types`` does."""
        return self._running_app().store.job_types()

    def create_job_type(
        self, name: str, job_description: str, **optional: Any
    ) -> dict[str, Any]:
        """Create a job type as in the dashboard and return it.

        ``optional`` takes the other job type settings. Raises
        ``InvalidRequest`` for values outside the published limits and
        ``Conflict`` for a used name.
        """
        fields = {"name": name, "job_description": job_description, **optional}
        return self._running_app().create_dashboard_job_type(fields)

    def close_job_opening(self, opening_id: str) -> dict[str, Any]:
        """Close a job opening as in the dashboard and return it.

        Raises ``NotFound`` for an unknown id.
        """
        app = self._running_app()
        return app.public_opening(app.store.close_job_opening(opening_id))

    def reset(self) -> None:
        """Delete all job types and job openings, and clear faults and stats."""
        self._running_app().reset()

    def set_faults(
        self,
        latency_ms: int | None = None,
        rate_limit: float | None = None,
        burst: int | None = None,
        script: list[dict[str, Any]] | None = None,
    ) -> None:
        """Replace the whole fault configuration, as ``PUT /_sandbox/faults`` does.

        An argument left as None turns its fault off: no latency, no rate
        limit, an empty script. ``burst`` defaults to 1. Raises
        ``InvalidRequest`` for an invalid configuration.
        """
        config = _fault_config(latency_ms or 0, rate_limit, burst or 1, script)
        self._running_app().faults.replace(parse_fault_settings(config))

    def faults(self) -> dict[str, Any]:
        """Return the fault configuration as ``GET /_sandbox/faults`` does."""
        return self._running_app().faults.to_json()

    def stats(self) -> dict[str, Any]:
        """Return the request counters as ``GET /_sandbox/stats`` does."""
        return self._running_app().stats.to_json()

    def _running_server(self) -> SandboxHTTPServer:
        if self._server is None:
            raise RuntimeError("the sandbox is not running, call start() first")
        return self._server

    def _running_app(self) -> SandboxApp:
        if self._app is None:
            raise RuntimeError("the sandbox is not running, call start() first")
        return self._app


def api_key_problem(api_key: str) -> str | None:
    """Return why no client could send ``api_key``, or None for a usable key.

    HTTP strips whitespace around a header value, and the server strips it
    around the token, so a key with surrounding whitespace never matches.
    """
    if not api_key.strip():
        return "the API key is empty or only whitespace"
    if api_key != api_key.strip():
        return "the API key starts or ends with whitespace"
    return None


def _fault_config(
    latency_ms: int,
    rate_limit: float | None,
    burst: int,
    script: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    limit = None if rate_limit is None else {"rps": rate_limit, "burst": burst}
    return {"latency_ms": latency_ms, "rate_limit": limit, "script": script or []}
