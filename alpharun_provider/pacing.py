"""One request pace shared by every thread of a provider process.

Alpharun publishes no rate limit, so the pace is learned from 429 responses:

1. Until the first 429, requests go out unpaced.
2. The first 429 stops every thread for the Retry-After time, because the
   server's burst allowance is spent. After that, requests start at the rate
   that the accepted burst suggests and the rate grows by a quarter every half
   second (slow start) until the next 429.
3. Each later 429 sets the rate just below the accepted rate measured over the
   last two seconds, when the server was saturated, and the rate then grows by
   2 % a second, so the pace stays close to the limit and a refusal is rare.

Only the refused request waits its full Retry-After time after the first 429.
The other threads keep the new pace.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("alpharun_provider.pacing")

MEASURE_WINDOW = 2.0  # seconds of accepted requests used to measure the limit
MIN_MEASURE_TIME = 0.25  # shorter windows are too noisy to measure a rate
SLOW_START_STEP = 0.5  # seconds between slow-start increases
SLOW_START_FACTOR = 1.25
STEADY_GROWTH = 0.02  # fraction of the rate added per second after slow start
BACKOFF_FACTOR = 0.95  # share of the measured rate used after a 429
MIN_RATE = 0.5  # requests per second


class Pacer:
    """Spaces request starts so that all threads share one learned rate.

    ``acquire`` blocks until the caller may send. ``record_success`` and
    ``record_rate_limited`` feed the response back. All methods are
    thread-safe.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate: float | None = None  # None: unpaced
        self._slow_start = False
        self._next_start = 0.0
        self._blocked_until = 0.0
        self._rate_changed_at = 0.0
        self._accepted: collections.deque[float] = collections.deque()

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or None when unpaced."""
        return self._rate

    def acquire(self) -> None:
        """Block until this thread's request may start."""
        with self._lock:
            now = self._clock()
            self._grow(now)
            start = max(now, self._blocked_until)
            if self._rate is not None:
                start = max(start, self._next_start)
                self._next_start = start + 1.0 / self._rate
        if start > now:
            self._sleep(start - now)

    def record_success(self) -> None:
        """Count one request that the server accepted."""
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            while self._accepted and self._accepted[0] < now - MEASURE_WINDOW:
                self._accepted.popleft()

    def record_rate_limited(self, retry_after: float) -> None:
        """Slow every thread down after a 429 that asked to wait retry_after."""
        with self._lock:
            now = self._clock()
            if self._rate is None:
                self._start_pacing(now, retry_after)
            else:
                self._reduce(now)

    def _start_pacing(self, now: float, retry_after: float) -> None:
        self._blocked_until = max(self._blocked_until, now + retry_after)
        burst = max(len(self._accepted), 1)
        self._rate = max(burst / max(retry_after, 1.0), MIN_RATE)
        self._slow_start = True
        self._rate_changed_at = self._blocked_until
        self._next_start = self._blocked_until
        logger.info(
            "rate limited: all requests wait %.1f s, then start at %.1f requests/s",
            retry_after,
            self._rate,
        )

    def _reduce(self, now: float) -> None:
        assert self._rate is not None
        if now < self._blocked_until:
            return
        # Measure only since the last stall ended: a stall has no requests and
        # would make the limit look lower than it is.
        since = max(now - MEASURE_WINDOW, self._blocked_until)
        if now - since >= MIN_MEASURE_TIME:
            measured = sum(1 for t in self._accepted if t >= since) / (now - since)
        else:
            measured = self._rate
        self._rate = min(max(BACKOFF_FACTOR * measured, MIN_RATE), self._rate)
        self._slow_start = False
        self._rate_changed_at = now
        logger.info("rate limited: pace set to %.1f requests/s", self._rate)

    def _grow(self, now: float) -> None:
        if self._rate is None or now <= self._rate_changed_at:
            return
        elapsed = now - self._rate_changed_at
        if self._slow_start:
            if elapsed >= SLOW_START_STEP:
                self._rate *= SLOW_START_FACTOR
                self._rate_changed_at = now
        else:
            self._rate *= 1.0 + STEADY_GROWTH * elapsed
            self._rate_changed_at = now
