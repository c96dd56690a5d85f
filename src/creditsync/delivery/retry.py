"""The retry policy for platform calls: an injected :class:`tenacity.Retrying`.

The policy classifies by exception type only: it retries :class:`RetriableError` (transport failures,
429, 5xx, timeouts) and lets everything else through at once. That is safe because every pushed record
carries an idempotency key, so a resent batch cannot create rows twice. The policy itself is built by
:func:`creditsync.http.retry_policy`, shared with the sources; only the platform's defaults live here.

Callers narrow a policy with ``.copy()`` rather than building a new one, e.g.::

    policy = default_retry_policy()
    quick = policy.copy(stop=stop_after_attempt(2))        # a reconciliation probe
    no_wait = policy.copy(wait=wait_none())                 # tests: never sleep

Tests may instead pass ``sleep=lambda seconds: None`` (or ``sleep=waits.append`` to record the waits
the policy computed).
"""

from __future__ import annotations

from tenacity import Retrying

from creditsync.http import Sleep, retry_policy

PLATFORM_MAX_ATTEMPTS = 6
PLATFORM_MAX_WAIT_S = 30.0


def default_retry_policy(
    max_attempts: int = PLATFORM_MAX_ATTEMPTS,
    max_wait: float = PLATFORM_MAX_WAIT_S,
    sleep: Sleep | None = None,
) -> Retrying:
    """Retry only :class:`RetriableError`, up to ``max_attempts`` calls, then re-raise the last one.

    Waits grow exponentially with jitter up to ``max_wait``; a ``Retry-After`` replaces the backoff,
    capped at ``max_wait`` so a hostile or broken header cannot park a worker for hours.
    """
    return retry_policy(max_attempts, max_wait, sleep=sleep)
