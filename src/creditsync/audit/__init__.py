"""The tamper-evident audit trail: append-only, each entry chained to the previous one by a keyed hash,
its head checkpointed outside the store (docs/audit.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from creditsync.audit.events import AuditEvent
    from creditsync.audit.keys import AuditConfig, AuditKeyring, load_audit_config
    from creditsync.audit.trail import AuditTrail, EntryDraft, entry_hash
    from creditsync.audit.verify import TrailReport, VerifyResult, verify_chain, verify_trail

# Each name from its module on first use: the read-only ``audit history`` and ``audit trace`` import only
# creditsync.audit.history, not the trail's writer, keys, checkpoints and verifier (benchmarks/RESULTS.md,
# CLI start-up).
_MODULES = {
    "AuditEvent": "creditsync.audit.events",
    "AuditConfig": "creditsync.audit.keys",
    "AuditKeyring": "creditsync.audit.keys",
    "load_audit_config": "creditsync.audit.keys",
    "AuditTrail": "creditsync.audit.trail",
    "EntryDraft": "creditsync.audit.trail",
    "entry_hash": "creditsync.audit.trail",
    "TrailReport": "creditsync.audit.verify",
    "VerifyResult": "creditsync.audit.verify",
    "verify_chain": "creditsync.audit.verify",
    "verify_trail": "creditsync.audit.verify",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)


__all__ = ["AuditConfig", "AuditEvent", "AuditKeyring", "AuditTrail", "EntryDraft", "TrailReport",
           "VerifyResult", "entry_hash", "load_audit_config", "verify_chain", "verify_trail"]
