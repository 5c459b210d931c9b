"""The HTTP/1.1 server and request handler that put ``SandboxApp`` on a socket.

The server is a ``ThreadingHTTPServer`` with keep-alive. Every response
except 204 and 304 has a Content-Length, so a ``requests.Session`` reuses its
connections. Each response goes out in one write on a socket with
TCP_NODELAY, so a small response never waits for the client's delayed ACK.
Each request is logged once, at INFO, on the ``alpharun_provider.sandbox``
logger with method, path, status and milliseconds. Request headers are never
logged.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .app import Request, Response, SandboxApp, error_response
from .faults import BODYLESS_STATUSES

logger = logging.getLogger("alpharun_provider.sandbox")

MAX_BODY_BYTES = 1_048_576
IDLE_TIMEOUT_SECONDS = 120.0
DRAIN_TIMEOUT_SECONDS = 1.0
# RFC 9110 section 8.6 defines Content-Length as ASCII digits only. Python's
# int() also takes signs, underscores and non-ASCII digits.
CONTENT_LENGTH_PATTERN = re.compile(r"[0-9]+")


class SandboxHTTPServer(ThreadingHTTPServer):
    """HTTP server that tracks its open connections so ``stop`` can end them."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition()
        super().__init__(address, SandboxRequestHandler)

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup that ``HTTPServer`` makes."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed connection (reset, timeout) instead of printing a traceback."""
        logger.debug("connection from %s failed: %r", client_address, sys.exc_info()[1])

    def track_connection(self, connection: socket.socket) -> None:
        """Record a connection that a handler thread is serving."""
        with self._idle:
            self._connections.add(connection)

    def untrack_connection(self, connection: socket.socket) -> None:
        """Forget a connection whose handler thread has finished."""
        with self._idle:
            self._connections.discard(connection)
            self._idle.notify_all()

    def close_connections(self, timeout: float) -> bool:
        """Shut down every open connection and wait for their handlers to end.

        Returns False when handlers were still running after ``timeout``
        seconds.
        """
        with self._idle:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return self._idle.wait_for(lambda: not self._connections, timeout)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """Handler that passes each request to ``SandboxApp`` and sends the response."""

    protocol_version = "HTTP/1.1"
    server_version = "alpharun-sandbox"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    # StreamRequestHandler.setup sets TCP_NODELAY on the accepted socket.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track_connection(self.connection)
        self._drain_bytes = 0

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack_connection(self.connection)

    def serve(self) -> None:
        """Respond to the current request and log one line for it.

        The line is logged before the response is sent, so a client that has
        the response can rely on the line being in the log.
        """
        started = time.monotonic()
        request = Request(self.command, urlsplit(self.path).path, self.headers)
        response = self._read_body(request)
        if response is None:
            response = self.server.app.handle(request)
        self._log_request(request, response, started)
        self._send(response, request)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = serve

    def _read_body(self, request: Request) -> Response | None:
        """Read the body into ``request``, or return the response that rejects it."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return error_response(
                411, "chunked request bodies are not supported, send Content-Length"
            )
        length = self._content_length()
        if length is None:
            self.close_connection = True
            return error_response(
                400,
                "the Content-Length header is invalid,"
                " send it once with a size in decimal digits",
            )
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._drain_bytes = length
            return self.server.app.reject_too_large(request, MAX_BODY_BYTES)
        request.body = self.rfile.read(length)
        if len(request.body) < length:
            self.close_connection = True
            return Response(0, drop=True)
        return None

    def _content_length(self) -> int | None:
        """Return the Content-Length value, 0 when absent, or None when invalid.

        Two Content-Length headers are invalid even with equal values,
        because a proxy in front could pick the other one.
        """
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        if len(values) > 1:
            return None
        text = values[0].strip(" \t")
        if CONTENT_LENGTH_PATTERN.fullmatch(text) is None:
            return None
        try:
            return int(text)
        except ValueError:
            # int() rejects strings of more than sys.get_int_max_str_digits().
            return None

    def _send(self, response: Response, request: Request | None = None) -> None:
        if response.drop:
            self.close_connection = True
            return
        try:
            self.wfile.write(self._encode(response))
            self.wfile.flush()
        except (OSError, ValueError) as error:
            self.close_connection = True
            self._report_send_error(response, request, error)
            return
        if self._drain_bytes:
            self._drain_unread_body()

    def _encode(self, response: Response) -> bytes:
        """Return the status line, headers and body as one buffer.

        Raises ``UnicodeEncodeError`` for a header outside Latin-1.
        """
        has_body = response.status not in BODYLESS_STATUSES
        body = response.body if has_body else b""
        head = "\r\n".join(self._header_lines(response, has_body)) + "\r\n\r\n"
        if getattr(self, "request_version", None) == "HTTP/0.9":
            return body
        if getattr(self, "command", None) == "HEAD":
            return head.encode("latin-1")
        return head.encode("latin-1") + body

    def _header_lines(self, response: Response, has_body: bool) -> list[str]:
        # RFC 9110 section 8.6 forbids Content-Length in a 204 response.
        phrase = self.responses.get(response.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        if response.content_type is not None:
            lines.append(f"Content-Type: {response.content_type}")
        if has_body:
            lines.append(f"Content-Length: {len(response.body)}")
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        return lines

    def _report_send_error(
        self, response: Response, request: Request | None, error: Exception
    ) -> None:
        if request is None or not response.fault:
            logger.debug("sending the response failed: %s", error)
            return
        self.server.app.stats.count_send_error()
        logger.warning(
            "%s %s: sending the injected %d response failed: %s",
            request.method,
            request.path,
            response.status,
            error,
        )

    def _drain_unread_body(self) -> None:
        # Reading the rest of a rejected body before closing keeps the kernel
        # from resetting the connection, which could destroy the 413 response
        # before the client reads it. The bytes are discarded, never stored.
        remaining = self._drain_bytes
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(DRAIN_TIMEOUT_SECONDS)
            while remaining > 0 and time.monotonic() < deadline:
                chunk = self.connection.recv(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            pass

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Send a JSON error for a request that ``http.server`` rejected."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        method = getattr(self, "command", None) or "-"
        path = urlsplit(self.path).path if getattr(self, "path", None) else "-"
        logger.info("%s %s %d (rejected by http.server)", method, path, code)
        self.close_connection = True
        self._send(error_response(code, message or phrase))

    def version_string(self) -> str:
        """Return the Server header value."""
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the default access line, because ``serve`` logs each request."""

    def log_message(self, format: str, *args: Any) -> None:
        """Send ``http.server`` messages (timeouts, parse errors) to DEBUG."""
        logger.debug("%s: %s", self.address_string(), format % args)

    def _log_request(
        self, request: Request, response: Response, started: float
    ) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000.0
        outcome = "dropped" if response.drop else str(response.status)
        logger.info(
            "%s %s %s %.1f ms", request.method, request.path, outcome, elapsed_ms
        )
