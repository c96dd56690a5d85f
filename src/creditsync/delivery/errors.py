"""What a platform call can raise, by what the caller must do (all from :mod:`creditsync.exceptions`).

    RetriableError
    ├── PlatformTransportError   no answer: refused, reset, dropped, timed out. The batch MAY have been
    │                            committed (lost ack): resend with the same idempotency keys or query back
    ├── PlatformServerError      5xx (or an envelope code 5xx) without Retry-After
    └── RateLimitedError         429, or 503 with Retry-After (``retry_after`` seconds)
    FatalError
    ├── PlatformRefusedError     4xx: the request itself is wrong; resending it cannot help
    │   ├── PlatformAuthError    401/403: the appKey was refused
    │   └── BatchTooLargeError   413: split the batch and push the halves
    └── PlatformProtocolError    the answer is not the documented envelope

A per-record validation rejection is NOT an exception: it is a ``Receipt`` with status ``rejected``.
"""

from __future__ import annotations

from typing import Any

from creditsync.exceptions import FatalError, RetriableError


class PlatformTransportError(RetriableError):
    """The request got no HTTP answer; whether the platform committed it is unknown."""


class PlatformServerError(RetriableError):
    """The platform answered 5xx: a transient failure on its side."""

    def __init__(self, message: str, status_code: int, **context: Any) -> None:
        super().__init__(message, status=status_code, **context)
        self.status_code = status_code


class PlatformRefusedError(FatalError):
    """The platform refused the request (4xx): fix the request or configuration, do not resend."""

    def __init__(self, message: str, status_code: int, **context: Any) -> None:
        super().__init__(message, status=status_code, **context)
        self.status_code = status_code


class PlatformAuthError(PlatformRefusedError):
    """401/403: the appKey is wrong, expired or lacks the right to this category."""


class BatchTooLargeError(PlatformRefusedError):
    """413: the batch exceeds the platform's limit; the caller must split it."""


class PlatformProtocolError(FatalError):
    """The answer does not follow the documented envelope, so nothing in it can be trusted."""
