"""The tamper-evident audit trail: append-only, each entry chained to the previous one by hash."""

from creditsync.audit.trail import AuditEvent, AuditTrail, entry_hash
from creditsync.audit.verify import VerifyResult, verify_chain

__all__ = ["AuditEvent", "AuditTrail", "VerifyResult", "entry_hash", "verify_chain"]
