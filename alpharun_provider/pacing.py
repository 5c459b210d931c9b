"""One request pace shared by every thread of a provider process.

Alpharun publishes no rate limit, so the pace is learned from 429 responses:

1. Until the first 429, requests go out unpaced.
2. The first 429 stops every thread for its Retry-After time, because the
   server's burst allowance is spent. Requests then restart slowly, and the
   pace grows by half every quarter second (slow start) until the next 429.
3. That 429 sets the pace from the rate the server accepted over the last
   half second, less the burst it had saved during the stop.
4. Each later 429 lowers the pace by 5 %, at most once a second, and between
   them the pace grows by 1 % a second. This keeps the pace near the limit
   with few refused requests (see benchmarks/run.py for measured figures).

After the first 429, only the refused request waits its Retry-After time; the
other threads keep the pace.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("alpharun_provider.pacing")

SLOW_START_STEP = 0.25  # seconds between slow-start increases
SLOW_START_FACTOR = 1.5
MEASURE_WINDOW = 0.5  # seconds of accepted requests that estimate the limit
MIN_MEASURE_TIME = 0.25  # shorter windows are too noisy to estimate a rate
ESTIMATE_SHARE = 0.95  # share of the estimated limit used as the pace
STEADY_GROWTH = 0.01  # fraction of the pace added per second after slow start
BACKOFF_FACTOR = 0.95  # share of the pace kept after a later 429
BACKOFF_INTERVAL = 1.0  # seconds in which several 429s count as one
WORKERS = 4  # concurrent calls of the SDK's provider server
MIN_RATE = 0.5  # requests per second
POLL_INTERVAL = 0.05  # maximum sleep before a waiting thread checks again


class Pacer:
    """Spaces request starts so that all threads share one learned rate.

    ``acquire`` blocks until the caller may send. ``record_success`` and
    ``record_rate_limited`` feed the responses back. All methods are
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
        self._last_start = -1e9
        self._blocked_until = 0.0
        self._rate_changed_at = 0.0
        self._last_backoff = 0.0
        self._burst = 0  # requests accepted before the first 429 and stop
        self._accepted: collections.deque[float] = collections.deque()

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or None when unpaced."""
        return self._rate

    def acquire(self) -> None:
        """Block until this thread's request may start."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._take_slot(now)
            if wait <= 0:
                return
            # Wake up often, so that a pace that grows meanwhile applies.
            self._sleep(min(wait, POLL_INTERVAL))

    def record_success(self) -> None:
        """Count one request that the server accepted."""
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            while self._accepted and self._accepted[0] < now - MEASURE_WINDOW:
                self._accepted.popleft()
            if self._slow_start and now <= self._blocked_until:
                self._burst += 1

    def record_rate_limited(self, retry_after: float) -> None:
        """Slow every thread down after a 429 that asked to wait retry_after."""
        with self._lock:
            now = self._clock()
            if self._rate is None:
                self._start_pacing(now, retry_after)
            elif now >= self._blocked_until:
                self._reduce(now)

    def _take_slot(self, now: float) -> float:
        """Claim a start time at or before now, or return seconds to wait."""
        ready = self._blocked_until
        if self._rate is not None:
            self._grow(now)
            interval = 1.0 / self._rate
            ready = max(ready, self._last_start + interval)
            if now >= ready:
                # Keep the schedule unless the pacer sat idle for a while.
                self._last_start = ready if now - ready < interval else now
        return ready - now

    def _start_pacing(self, now: float, retry_after: float) -> None:
        stop = max(retry_after, MIN_MEASURE_TIME)
        self._blocked_until = now + stop
        self._burst = len(self._accepted)
        self._rate = max(self._burst / stop, WORKERS / stop, MIN_RATE)
        self._slow_start = True
        self._rate_changed_at = self._blocked_until
        self._last_start = self._blocked_until - 1.0 / self._rate
        logger.info(
            "rate limited: all requests wait %.1f s, then start at %.1f requests/s",
            stop,
            self._rate,
        )

    def _reduce(self, now: float) -> None:
        assert self._rate is not None
        if self._slow_start:
            self._rate = self._estimate_limit(now)
            self._slow_start = False
        elif now - self._last_backoff >= BACKOFF_INTERVAL:
            self._rate = max(self._rate * BACKOFF_FACTOR, MIN_RATE)
        else:
            return
        self._last_backoff = now
        self._rate_changed_at = now
        logger.info("rate limited: pace set to %.1f requests/s", self._rate)

    def _estimate_limit(self, now: float) -> float:
        """Estimate the server's rate from the requests it accepted just now.

        No request waited since the stop, so over the last half second the
        server accepted its rate plus the burst it had saved during the stop.
        A longer window would reach back to slow-start steps below the limit.
        """
        assert self._rate is not None
        fallback = max(self._rate / SLOW_START_FACTOR**2, MIN_RATE)
        since = max(now - MEASURE_WINDOW, self._blocked_until)
        if now - since < MIN_MEASURE_TIME:
            return fallback
        accepted = sum(1 for t in self._accepted if t >= since) - self._burst
        return max(ESTIMATE_SHARE * accepted / (now - since), fallback)

    def _grow(self, now: float) -> None:
        assert self._rate is not None
        elapsed = now - self._rate_changed_at
        if elapsed <= 0:
            return
        if self._slow_start:
            if elapsed >= SLOW_START_STEP:
                self._rate *= SLOW_START_FACTOR
                self._rate_changed_at = now
        else:
            self._rate *= 1.0 + STEADY_GROWTH * elapsed
            self._rate_changed_at = now
