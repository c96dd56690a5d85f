"""Push: the platform client, its retry policy and the errors it raises.

    PlatformClient.push(category, items, batch_id) -> list[Receipt]
    PlatformClient.query(category, idempotency_keys) -> dict[str, Receipt]
    default_retry_policy(...) -> tenacity.Retrying   (injected into the client)

The HTTP underneath (send, status classification, Retry-After, the policy factory) is
:mod:`creditsync.http`, shared with the HTTP sources.
"""

from creditsync.delivery.client import PlatformClient, PushItem, Receipt
from creditsync.delivery.errors import (
    BatchTooLargeError,
    PlatformAuthError,
    PlatformProtocolError,
    PlatformRefusedError,
    PlatformServerError,
    PlatformTransportError,
)
from creditsync.delivery.retry import default_retry_policy

__all__ = [
    "BatchTooLargeError",
    "PlatformAuthError",
    "PlatformClient",
    "PlatformProtocolError",
    "PlatformRefusedError",
    "PlatformServerError",
    "PlatformTransportError",
    "PushItem",
    "Receipt",
    "default_retry_policy",
]
