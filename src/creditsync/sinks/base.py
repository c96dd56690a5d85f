"""What every sink promises: deliver a batch of outbox items, answer with receipts, be asked back.

A sink is the interface the platform offers (its HTTP API, an exchange database, XML envelopes, upload
workbooks). The gateway's side (outbox, idempotency keys, receipts stored through the lifecycle,
quarantine of rejections, cursors, audit) is the same for every sink; only how an item travels and how
its answer comes back differ:

- ``push(category, items, batch_id)`` delivers the items (a re-sent idempotency key never makes a
  second row) and returns the receipts it already has, in the items' order. An item without a receipt
  is unanswered: it stays pending and is asked back (``query``) or sent again with the same key.
- ``query(category, keys)`` answers what the platform decided for these keys; undecided keys are absent.
- ``retract(category, keys)``: items the platform has not taken yet, removed (the exchange database's
  "delete while not yet taken"); the keys that will never reach the platform (removed, or never
  delivered at all). Sinks that cannot take anything back return nothing.
- ``records``/``record``: the platform's copies (reconciliation's second pass), only where
  ``can_read_copies``.

``asynchronous``: the platform decides later (its pick-up job, a person uploading a workbook), so an
item delivered without an answer is normal there, not a fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Action = Literal["upsert", "withdraw"]
# "unknown": the platform said accepted/duplicate but gave no platform_id, so whether (and as which
# row) the record is published cannot be trusted: query back, never correct blind.
Status = Literal["accepted", "duplicate", "rejected", "unknown"]


@dataclass(frozen=True)
class PushItem:
    """One record to send. ``platform_id`` turns an upsert into a correction and is required to withdraw."""

    idempotency_key: str
    business_key: str
    action: Action
    data: Mapping[str, Any]
    platform_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ("upsert", "withdraw"):
            raise ValueError(f"unknown action {self.action!r}")
        if self.action == "withdraw" and not self.platform_id:
            raise ValueError("a withdrawal needs the platform_id of the record to withdraw")
        if not self.idempotency_key:
            raise ValueError("idempotency_key is empty")

    def as_wire(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "business_key": self.business_key,
            "action": self.action,
            "platform_id": self.platform_id,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class Receipt:
    """The platform's answer for one record. ``duplicate``: the key was already known; nothing changed.

    ``unknown``: the platform claimed ``accepted``/``duplicate`` without a ``platform_id``. Without the
    id the next correction would go out as a new row (a duplicate on the platform), so such an answer
    is never treated as accepted: the caller keeps the item unconfirmed and queries it back later."""

    idempotency_key: str
    status: Status
    platform_id: str | None
    errors: list[str] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """The platform accepted the record and named its row."""
        return self.status in ("accepted", "duplicate")

    @property
    def ok(self) -> bool:
        return self.confirmed


@runtime_checkable
class Sink(Protocol):
    """The delivery interface (module docstring)."""

    name: str
    asynchronous: bool
    can_read_copies: bool

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]: ...

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]: ...

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]: ...

    def records(self, platform_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def record(self, platform_id: str) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


def unique_keys(items: Sequence[PushItem]) -> list[str]:
    keys = [item.idempotency_key for item in items]
    if len(set(keys)) != len(keys):
        # The platform would answer the second copy as a duplicate of the first: a caller bug.
        raise ValueError("a batch must not contain the same idempotency key twice")
    return keys


def answer(idempotency_key: str, outcome: str, platform_id: str | None, errors: list[str]) -> Receipt:
    """A receipt from what a platform wrote back: accepted without an id is unknown (asked again)."""
    if outcome == "rejected":
        return Receipt(idempotency_key, "rejected", None, errors)
    if not platform_id:
        return Receipt(idempotency_key, "unknown", None, errors)
    return Receipt(idempotency_key, "accepted", platform_id, errors)


class NoCopies:
    """For sinks whose platform cannot be read back (files, one-way channels)."""

    can_read_copies = False

    def records(self, platform_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        raise NotImplementedError("this interface cannot read the platform's copies")

    def record(self, platform_id: str) -> dict[str, Any] | None:
        raise NotImplementedError("this interface cannot read the platform's copies")
