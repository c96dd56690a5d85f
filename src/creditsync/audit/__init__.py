"""The tamper-evident audit trail: append-only, each entry chained to the previous one by hash."""

from creditsync.audit.trail import AuditTrail, entry_hash
from creditsync.audit.verify import VerifyResult, verify_chain

__all__ = ["AuditTrail", "VerifyResult", "entry_hash", "verify_chain"]
