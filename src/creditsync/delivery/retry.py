"""The retry policy for platform calls: an injected :class:`tenacity.Retrying`.

The policy classifies by exception type only: it retries :class:`RetriableError` (transport failures,
429, 5xx, timeouts) and lets everything else through at once. That is safe because every pushed record
carries an idempotency key, so a resent batch cannot create rows twice.

Callers narrow a policy with ``.copy()`` rather than building a new one, e.g.::

    policy = default_retry_policy()
    quick = policy.copy(stop=stop_after_attempt(2))        # a reconciliation probe
    no_wait = policy.copy(wait=wait_none())                 # tests: never sleep

Tests may instead pass ``sleep=lambda seconds: None`` (or ``sleep=waits.append`` to record the waits
the policy computed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import WaitBaseT, wait_base

from creditsync.exceptions import RateLimitedError, RetriableError

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns None when the header is absent or unreadable (the caller then falls back to backoff);
    a date in the past means "now" (0.0).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now or datetime.now(UTC))
    # A negative or non-finite delta is not a valid header: ignore it rather than trust it.
    return seconds if 0 <= seconds < float("inf") else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "-0000", also UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class wait_retry_after(wait_base):  # lower case, like tenacity's own strategies
    """Wait what the platform asked for (capped), otherwise defer to ``fallback``."""

    def __init__(self, fallback: WaitBaseT, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.cap)
        return float(self.fallback(retry_state))


def default_retry_policy(
    max_attempts: int = 6, max_wait: float = 30.0, sleep: Sleep | None = None
) -> Retrying:
    """Retry only :class:`RetriableError`, up to ``max_attempts`` calls, then re-raise the last one.

    Waits grow exponentially with jitter (0.5 s, 1 s, 2 s, ... plus up to 1 s) up to ``max_wait``;
    a ``Retry-After`` carried by :class:`RateLimitedError` replaces the backoff, capped at ``max_wait``
    so a hostile or broken header cannot park a worker for hours.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=1.0)
    return Retrying(
        retry=retry_if_exception_type(RetriableError),
        stop=stop_after_attempt(max_attempts),
        wait=wait_retry_after(backoff, cap=max_wait),
        sleep=sleep if sleep is not None else time.sleep,
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )
