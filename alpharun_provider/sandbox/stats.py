"""Counters of the ``/api/v1`` requests that the sandbox has received."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestStats:
    """Thread-safe counts for ``GET /_sandbox/stats``.

    ``requests`` counts every API request when it arrives, ``by_status``
    counts the responses by status code, ``rate_limited`` the 429 responses
    of the rate limit, ``dropped`` the connections closed without a
    response, and ``send_errors`` the injected responses that failed to send.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._by_status: Counter[int] = Counter()
        self._rate_limited = 0
        self._dropped = 0
        self._send_errors = 0

    def count_request(self) -> None:
        """Count an API request as it arrives."""
        with self._lock:
            self._requests += 1

    def count_status(self, status: int) -> None:
        """Count a response sent with ``status``."""
        with self._lock:
            self._by_status[status] += 1

    def count_rate_limited(self) -> None:
        """Count a request rejected by the rate limit."""
        with self._lock:
            self._rate_limited += 1

    def count_dropped(self) -> None:
        """Count a connection closed without a response."""
        with self._lock:
            self._dropped += 1

    def count_send_error(self) -> None:
        """Count an injected response whose sending raised an error."""
        with self._lock:
            self._send_errors += 1

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._requests = 0
            self._by_status.clear()
            self._rate_limited = 0
            self._dropped = 0
            self._send_errors = 0

    def to_json(self) -> dict[str, Any]:
        """Return the counters, with status codes as string keys as in JSON."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": {
                    str(status): count
                    for status, count in sorted(self._by_status.items())
                },
                "rate_limited": self._rate_limited,
                "dropped": self._dropped,
                "send_errors": self._send_errors,
            }
