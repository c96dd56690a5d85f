"""What a platform call can raise, by what the caller must do (all from :mod:`creditsync.exceptions`).

    RetriableError
    ├── PlatformTransportError   no answer: refused, reset, dropped, timed out. The batch MAY have been
    │                            committed (lost ack): resend with the same idempotency keys or query back
    ├── PlatformServerError      5xx (or an envelope code 5xx) without Retry-After
    └── RateLimitedError         429, or 503 with Retry-After (``retry_after`` seconds)
    FatalError
    ├── PlatformRefusedError     4xx: the request itself is wrong; resending it cannot help
    │   ├── PlatformAuthError    401/403: the appKey was refused
    │   └── BatchTooLargeError   413: split the batch and push the halves (one record still too
    │                            big: quarantine it); never resend the same batch
    └── PlatformProtocolError    the answer is not the documented envelope

Which status becomes which class is decided once, by :func:`creditsync.http.classify`, and mapped here
by :data:`PLATFORM_ERRORS`. Every message is built with the appKey masked (the platform may echo it).

A per-record validation rejection is NOT an exception: it is a ``Receipt`` with status ``rejected``.
"""

from __future__ import annotations

from typing import Any

from creditsync.exceptions import FatalError, RateLimitedError, RetriableError
from creditsync.http import ErrorTable, Failure


class PlatformTransportError(RetriableError):
    """The request got no HTTP answer; whether the platform committed it is unknown."""


class PlatformServerError(RetriableError):
    """The platform answered 5xx: a transient failure on its side."""

    @property
    def status_code(self) -> int:
        return _status(self.context)


class PlatformRefusedError(FatalError):
    """The platform refused the request (4xx): fix the request or configuration, do not resend."""

    @property
    def status_code(self) -> int:
        return _status(self.context)


class PlatformAuthError(PlatformRefusedError):
    """401/403: the appKey is wrong, expired or lacks the right to this category."""


class BatchTooLargeError(PlatformRefusedError):
    """413: the batch exceeds the platform's limit; the caller must split it."""


class PlatformProtocolError(FatalError):
    """The answer does not follow the documented envelope, so nothing in it can be trusted."""


PLATFORM_ERRORS = ErrorTable({
    Failure.UNREACHABLE: PlatformTransportError,
    Failure.RATE_LIMITED: RateLimitedError,
    Failure.SERVER: PlatformServerError,
    Failure.TIMEOUT: PlatformTransportError,  # the platform gave up waiting for us: like a timeout
    Failure.AUTH: PlatformAuthError,
    Failure.TOO_LARGE: BatchTooLargeError,
    Failure.REFUSED: PlatformRefusedError,
    Failure.UNEXPECTED: PlatformProtocolError,
}, unreachable="no answer from the platform ({kind})")


def _status(context: dict[str, Any]) -> int:
    status = context.get("status")
    return status if isinstance(status, int) else 0
