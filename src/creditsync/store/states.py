"""The words of a record's life, in one place: every step, command and page uses these.

A record (``records.state``)::

    pending ──receipt──▶ published ──revoked at source──▶ withdrawing ──receipt──▶ withdrawn
       │  └─platform said no─▶ rejected          │                      (credit repair) ▶ repaired
       └─revoked before it was ever sent──▶ revoked            (display period over) ▶ expired

An outbox item (``outbox.status``): pending ──▶ acked | rejected | superseded (a newer version of
the same record replaced it before anyone tried to send it).
"""

from __future__ import annotations

from enum import StrEnum


class RecordState(StrEnum):
    PENDING = "pending"  # a version waits for the platform's acknowledgement
    PUBLISHED = "published"
    REJECTED = "rejected"  # the platform refused this version; fixed at the source, it goes again
    WITHDRAWING = "withdrawing"  # 终止公示 queued
    WITHDRAWN = "withdrawn"  # the department revoked it after publication
    REVOKED = "revoked"  # revoked before the platform ever had it
    REPAIRED = "repaired"  # 信用修复: display stopped for good
    EXPIRED = "expired"  # 公示期满: display period over


class OutboxStatus(StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class OutboxAction(StrEnum):
    UPSERT = "upsert"
    WITHDRAW = "withdraw"


class QuarantineStage(StrEnum):
    SOURCE = "source"  # the source record could not be read
    MAPPING = "mapping"
    VALIDATION = "validation"
    PLATFORM = "platform"  # the platform rejected it
    PROTECTED = "protected"  # held back by a publication rule (minors, secrecy): never invalid


NEVER_REPUBLISH = frozenset({RecordState.REPAIRED, RecordState.EXPIRED})
OFF_DISPLAY = frozenset({RecordState.WITHDRAWING, RecordState.WITHDRAWN, RecordState.REVOKED})
