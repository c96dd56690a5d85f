"""HTTP for every peer the gateway talks to: department sources (REST, XML feeds) and the platform.

One place for what both sides need, in the manner of Airflow's ``HttpHook`` (one ``run`` with the
connection's options) and the Singer SDK's request decorator (one retry policy around each call):

* :func:`send`: one request; no answer becomes the peer's transport error, a bad URL a
  ConfigurationError; secrets are masked out of every message;
* :func:`classify`: an HTTP (or envelope) status as a :class:`Failure`, the single classification;
  each peer turns a Failure into its own exception with an :class:`ErrorTable`;
* :func:`parse_retry_after`, :class:`wait_retry_after` and :func:`retry_policy`: the tenacity policy
  (retry :class:`RetriableError` only, honour ``Retry-After`` up to a cap);
* :func:`decode_text`: a body decoded by its declared charset, strictly (never U+FFFD).

Classification (what the caller must do, see ``creditsync.exceptions``)::

    no answer (refused, reset, timed out)   UNREACHABLE   retriable
    429, or 503 with Retry-After            RATE_LIMITED  retriable after ``retry_after`` seconds
    5xx                                     SERVER        retriable
    408                                     TIMEOUT       retriable (the peer gave up waiting for us)
    401, 403                                AUTH          fatal: credentials refused
    413                                     TOO_LARGE     fatal as sent: split the payload
    other 4xx                               REFUSED       fatal: the request is wrong
    anything else (1xx, 3xx, 600+, 0)       UNEXPECTED    the peer's protocol is broken
"""

from __future__ import annotations

import codecs
import email.message
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, TypeVar

import requests
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import WaitBaseT, wait_base

from creditsync.exceptions import (
    ConfigurationError,
    CreditSyncError,
    FatalError,
    RateLimitedError,
    RetriableError,
)
from creditsync.privacy import mask_text

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]
MASK = "***"
_MIN_SECRET_LEN = 4  # shorter "secrets" would mask ordinary words
_CONFIG_ERRORS = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                  requests.exceptions.InvalidSchema)


# -- classification --------------------------------------------------------------------------------


class Failure(StrEnum):
    UNREACHABLE = "unreachable"
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    TIMEOUT = "timeout"
    AUTH = "auth"
    TOO_LARGE = "too_large"
    REFUSED = "refused"
    UNEXPECTED = "unexpected"


def classify(status: int, retry_after: float | None = None) -> Failure:
    """What a non-success status means; ``retry_after`` is the parsed ``Retry-After`` header."""
    if status == 429 or (status == 503 and retry_after is not None):
        return Failure.RATE_LIMITED
    if 500 <= status <= 599:
        return Failure.SERVER
    if status == 408:
        return Failure.TIMEOUT
    if status in (401, 403):
        return Failure.AUTH
    if status == 413:
        return Failure.TOO_LARGE
    if 400 <= status <= 499:
        return Failure.REFUSED
    return Failure.UNEXPECTED


@dataclass(frozen=True)
class ErrorTable:
    """Which exception each :class:`Failure` becomes for one kind of peer."""

    classes: Mapping[Failure, type[CreditSyncError]]
    # How a request that got no answer is worded: {url} (without its query), {kind}, {detail}.
    unreachable: str = "cannot reach {url}: {kind}: {detail}"

    def error(self, failure: Failure, message: str, *, retry_after: float | None = None,
              **context: Any) -> CreditSyncError:
        cls = self.classes[failure]
        if issubclass(cls, RateLimitedError):
            return cls(message, retry_after=retry_after, **context)
        return cls(message, **context)


# Department sources: the generic classes of creditsync.exceptions.
SOURCE_ERRORS = ErrorTable({
    Failure.UNREACHABLE: RetriableError,
    Failure.RATE_LIMITED: RateLimitedError,
    Failure.SERVER: RetriableError,
    Failure.TIMEOUT: RetriableError,
    Failure.AUTH: FatalError,
    Failure.TOO_LARGE: FatalError,
    Failure.REFUSED: FatalError,
    Failure.UNEXPECTED: RetriableError,
})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    None when the header is absent or unreadable (the caller then falls back to backoff); a date in
    the past means "now" (0.0); a negative or non-finite delta is not a valid header and is ignored.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now or datetime.now(UTC))
    return seconds if 0 <= seconds < float("inf") else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "-0000", also UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# -- one request -----------------------------------------------------------------------------------


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    errors: ErrorTable,
    headers: Mapping[str, str],
    timeout: float | tuple[float, float],
    params: Mapping[str, Any] | None = None,
    data: bytes | None = None,
    verify: bool = True,
    stream: bool = False,
    secrets: Iterable[str] = (),
) -> requests.Response:
    """One request. No answer becomes ``errors``' UNREACHABLE error (the peer may or may not have
    acted on it: only an idempotent request may be resent); an invalid URL a ConfigurationError."""
    try:
        return session.request(method, url, params=params, data=data, headers=dict(headers),
                               timeout=timeout, verify=verify, stream=stream)
    except _CONFIG_ERRORS as exc:
        raise ConfigurationError(redact(f"invalid URL {_without_query(url)}: {exc}", secrets)) from exc
    except requests.RequestException as exc:
        text = errors.unreachable.format(url=_without_query(url), kind=type(exc).__name__, detail=exc)
        raise errors.error(Failure.UNREACHABLE, redact(text, secrets), url=_without_query(url)) from exc


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret (token, appKey) replaced by ``***`` and ID numbers masked:
    peers echo requests back in their error messages, and those messages reach logs and terminals."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_text(text)


def snippet(response: requests.Response, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """The start of an error body, on one line, for a message; masked (bodies can echo anything)."""
    try:
        text = response.content[:limit * 4].decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        text = response.content[:limit * 4].decode("utf-8", errors="replace")
    return redact(text[:limit].replace("\n", " "), secrets)


def decode_text(response: requests.Response, declared: str | None = None, default: str = "utf-8") -> str:
    """The body as text in ``declared`` (an option), else the Content-Type charset, else ``default``.

    Strict: bytes that are not valid in that codec raise :class:`UnicodeDecodeError` (the caller says
    which option to set) instead of turning into U+FFFD that would then be published as text."""
    codec = declared or content_charset(response.headers.get("Content-Type")) or default
    try:
        codecs.lookup(codec)
    except LookupError:
        raise ConfigurationError(f"unknown text encoding {codec!r}") from None
    body = response.content
    if codecs.lookup(codec).name == "utf-8" and body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8):]
    return body.decode(codec)


def content_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    message = email.message.Message()
    message["Content-Type"] = content_type
    charset = message.get_param("charset")
    return charset.strip().strip('"') if isinstance(charset, str) and charset.strip() else None


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


# -- retries ---------------------------------------------------------------------------------------


class wait_retry_after(wait_base):  # lower case, like tenacity's own strategies
    """Wait what the peer asked for (``RateLimitedError.retry_after``, capped), else ``fallback``."""

    def __init__(self, fallback: WaitBaseT, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.cap)
        return float(self.fallback(retry_state))


def retry_policy(
    max_attempts: int,
    max_wait: float,
    *,
    jitter: float = 1.0,
    retry_after_cap: float | None = None,
    sleep: Sleep | None = None,
) -> Retrying:
    """Retry only :class:`RetriableError`, up to ``max_attempts`` calls, then re-raise the last one.

    Waits grow exponentially (0.5 s, 1 s, 2 s, ... plus up to ``jitter`` s) up to ``max_wait``; a
    ``Retry-After`` carried by :class:`RateLimitedError` replaces the backoff, capped at
    ``retry_after_cap`` (default ``max_wait``) so a hostile header cannot park a worker for hours.
    Narrow a policy with ``.copy(stop=..., wait=...)`` rather than building another.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    backoff = wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=jitter)
    return Retrying(
        retry=retry_if_exception_type(RetriableError),
        stop=stop_after_attempt(max_attempts),
        wait=wait_retry_after(backoff, cap=max_wait if retry_after_cap is None else retry_after_cap),
        sleep=sleep if sleep is not None else time.sleep,
        before_sleep=before_sleep_log(logger, logging.WARNING),
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
