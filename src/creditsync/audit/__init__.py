"""The tamper-evident audit trail: append-only, each entry chained to the previous one by a keyed hash,
its head checkpointed outside the store (docs/audit.md)."""

from creditsync.audit.events import AuditEvent
from creditsync.audit.keys import AuditConfig, AuditKeyring, load_audit_config
from creditsync.audit.trail import AuditTrail, EntryDraft, entry_hash
from creditsync.audit.verify import TrailReport, VerifyResult, verify_chain, verify_trail

__all__ = ["AuditConfig", "AuditEvent", "AuditKeyring", "AuditTrail", "EntryDraft", "TrailReport",
           "VerifyResult", "entry_hash", "load_audit_config", "verify_chain", "verify_trail"]
