"""HTTP plumbing shared by HTTP-based adapters: error classification, retry policy, JSON paths.

Classification (what the caller must do, see ``creditsync.exceptions``):

    transport failure, timeout, 5xx, 408  → RetriableError
    429 (or 503 with Retry-After)         → RateLimitedError(retry_after=...)
    401, 403                              → FatalError (credentials refused: retrying cannot help)
    other 4xx                             → FatalError (wrong path or parameters: a person must look)
    unparseable JSON body                 → RetriableError (truncated responses are usually transient)
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential

from creditsync.exceptions import ConfigurationError, FatalError, RateLimitedError, RetriableError
from creditsync.privacy import mask_text

T = TypeVar("T")
MISSING: Any = object()
_MAX_RETRY_AFTER_S = 120.0
_CONFIG_ERRORS = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                  requests.exceptions.InvalidSchema)


class wait_retry_after(wait_base):  # lower-case like tenacity's own wait strategies
    """Wait what the peer asked for (``RateLimitedError.retry_after``, capped), else ``fallback``."""

    def __init__(self, fallback: wait_base, cap: float = _MAX_RETRY_AFTER_S) -> None:
        self.fallback, self.cap = fallback, cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.cap)
        return float(self.fallback(retry_state))


def default_retrying() -> Retrying:
    """A few attempts on RetriableError only, with short exponential waits; re-raises the last error."""
    return Retrying(
        retry=retry_if_exception_type(RetriableError),
        stop=stop_after_attempt(4),
        wait=wait_retry_after(wait_exponential(multiplier=0.5, max=8)),
        reraise=True,
    )


def call_with_retries(retrying: Retrying, fn: Callable[[], T]) -> T:
    """Run ``fn`` under ``retrying``; a policy built without ``reraise`` still surfaces our error."""
    try:
        return retrying(fn)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        if isinstance(last, Exception):
            raise last from None
        raise


def send(
    session: requests.Session,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    timeout: float,
    verify: bool,
) -> requests.Response:
    """One GET; transport failures become RetriableError (bad URLs ConfigurationError)."""
    try:
        return session.get(url, params=params, headers=dict(headers), timeout=timeout, verify=verify)
    except _CONFIG_ERRORS as exc:
        raise ConfigurationError(f"invalid source URL {url}: {exc}") from exc
    except requests.RequestException as exc:
        raise RetriableError(f"cannot reach {url}: {type(exc).__name__}: {exc}", url=url) from exc


def raise_for_status(response: requests.Response, where: str) -> None:
    status = response.status_code
    if status < 400:
        return
    context = {"url": _safe_url(response), "status": status}
    if status in (401, 403):
        raise FatalError(f"{where}: credentials refused (HTTP {status}); check the Connection", **context)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        raise RateLimitedError(f"{where}: rate limited (HTTP {status})", retry_after=retry_after, **context)
    if status >= 500 or status == 408:
        raise RetriableError(f"{where}: server error HTTP {status}: {_snippet(response)}", **context)
    raise FatalError(f"{where}: HTTP {status}: {_snippet(response)}", **context)


def parse_json(response: requests.Response, where: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise RetriableError(
            f"{where}: response is not valid JSON: {_snippet(response)}", url=_safe_url(response)
        ) from None


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def dig(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; ``""`` is ``obj`` itself; MISSING when absent."""
    if not path:
        return obj
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def _snippet(response: requests.Response) -> str:
    # Error bodies can echo personal data back: mask ID numbers and keep it short.
    return mask_text(response.text[:300].replace("\n", " "))


def _safe_url(response: requests.Response) -> str:
    return response.url.split("?", 1)[0] if response.url else ""
