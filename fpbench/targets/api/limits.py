"""Pacing of paid calls: a token-bucket rate limiter and exponential backoff with jitter that honours the
server's ``Retry-After``."""
from __future__ import annotations

import random
import threading
import time
from email.utils import parsedate_to_datetime

#: Longest wait fpbench accepts from a ``Retry-After`` header or its own backoff (seconds).
MAX_WAIT = 120.0


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of at most ``burst``; thread-safe."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate, self.burst = float(rate), max(1, int(burst))
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            self._tokens -= 1  # may go negative: the debt is paid by the sleep below
        if wait:
            time.sleep(wait)
        return wait


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (delta seconds or an HTTP date) in seconds, capped at ``MAX_WAIT``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(MAX_WAIT, max(0.0, seconds))


def backoff_seconds(attempt: int, base: float, retry_after: float | None = None,
                    rng: random.Random | None = None) -> float:
    """Wait before retry number ``attempt`` (0-based): ``base * 2**attempt`` with equal jitter (half fixed,
    half uniform), capped at ``MAX_WAIT``, and never shorter than the server's ``Retry-After``."""
    step = min(MAX_WAIT, base * 2 ** attempt)
    jittered = step / 2 + (rng or random).uniform(0, step / 2)
    return max(jittered, retry_after or 0.0)
