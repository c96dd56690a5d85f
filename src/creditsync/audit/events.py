"""Every kind of audit entry, with its label: the trail writes these, the CLI and the console show them.

A new event needs a label in both languages (a test checks every member has one).
"""

from __future__ import annotations

from enum import StrEnum


class AuditEvent(StrEnum):
    # runs and sources
    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    RUN_FINISHED = "run_finished"
    SOURCE_READ = "source_read"
    SOURCE_FAILED = "source_failed"
    CURSOR_ADVANCED = "cursor_advanced"
    # a record's life (creditsync.lifecycle)
    VERSIONS_STORED = "versions_stored"  # a chunk's versions, bound by a Merkle root
    RECORD_QUARANTINED = "record_quarantined"
    QUARANTINE_RESOLVED = "quarantine_resolved"
    QUARANTINE_RETRIED = "quarantine_retried"
    REVOKED_UNPUBLISHED = "revoked_unpublished"
    WITHDRAWAL_QUEUED = "withdrawal_queued"
    REPUBLISH_BLOCKED = "republish_blocked"
    RECORD_PROTECTED = "record_protected"
    RECORD_REPLACED = "record_replaced"
    RECORD_RELEASED = "record_released"
    REVOKED_WHILE_WITHDRAWN = "revoked_while_withdrawn"  # the department revoked it under an operator's hold
    SOURCE_RELINKED = "source_relinked"  # the department's new id for the decision (creditsync relink)
    DISPLAY_ENDED = "display_ended"
    CREDIT_REPAIR = "credit_repair"
    CREDIT_REPAIR_UNMATCHED = "credit_repair_unmatched"
    # delivery
    PUSH_ATTEMPT = "push_attempt"
    RECEIPTS_STORED = "receipts_stored"  # a batch's answers, bound by a Merkle root
    PUSH_REJECTED = "push_rejected"
    PUSH_FAILED = "push_failed"
    DELIVERY_RETRACTED = "delivery_retracted"  # taken back from an exchange before the platform took it
    # people and checks
    MANUAL_REDRIVE = "manual_redrive"
    RECONCILIATION = "reconciliation"
    RECONCILED = "reconciled"
    TAMPER_DETECTED = "tamper_detected"
    STORE_SEALED = "store_sealed"
    AUDIT_PRUNED = "audit_pruned"
    # Airflow's view of a run (orchestration.listeners, orchestration.airflow_native)
    DAG_RUN_STARTED = "dag_run_started"
    DAG_RUN_ENDED = "dag_run_ended"
    RUN_OVERDUE = "run_overdue"
    # written by earlier versions of the gateway (one entry per record); still shown and verified
    RECORD_VERSION = "record_version"
    PUSH_RECEIPT = "push_receipt"
    # the credit loop (creditsync.credit)
    CREDIT_FEED_PULLED = "credit_feed_pulled"
    CREDIT_CHECKED = "credit_checked"
    DRAW_COMMITTED = "draw_committed"
    DRAW_PUBLISHED = "draw_published"
    DRAW_VERIFIED = "draw_verified"
    CREDIT_DELIVERED = "credit_delivered"

    @property
    def label_zh(self) -> str:
        return LABELS[self][0]

    @property
    def label_en(self) -> str:
        return LABELS[self][1]


LABELS: dict[AuditEvent, tuple[str, str]] = {
    AuditEvent.DELIVERY_RETRACTED: ("撤回未接收的报送", "delivery taken back before the platform took it"),
    AuditEvent.RUN_STARTED: ("运行开始", "run started"),
    AuditEvent.RUN_RESUMED: ("运行续跑", "run resumed"),
    AuditEvent.RUN_FINISHED: ("运行结束", "run finished"),
    AuditEvent.SOURCE_READ: ("读取来源", "source read"),
    AuditEvent.SOURCE_FAILED: ("来源读取失败", "source failed"),
    AuditEvent.CURSOR_ADVANCED: ("游标推进", "cursor advanced"),
    AuditEvent.VERSIONS_STORED: ("记录新版本", "versions stored"),
    AuditEvent.RECORD_QUARANTINED: ("记录隔离", "record quarantined"),
    AuditEvent.QUARANTINE_RESOLVED: ("隔离已处理", "quarantine resolved"),
    AuditEvent.QUARANTINE_RETRIED: ("隔离记录重读", "quarantined record read again"),
    AuditEvent.REVOKED_UNPUBLISHED: ("撤销（未公示）", "revoked before publication"),
    AuditEvent.WITHDRAWAL_QUEUED: ("撤回排队", "withdrawal queued"),
    AuditEvent.REPUBLISH_BLOCKED: ("禁止重新公示", "re-publication blocked"),
    AuditEvent.RECORD_PROTECTED: ("依规不予公示", "held back by a publication rule"),
    AuditEvent.RECORD_REPLACED: ("文书号变更", "document number changed"),
    AuditEvent.RECORD_RELEASED: ("解除终止公示", "operator's withdrawal released"),
    AuditEvent.REVOKED_WHILE_WITHDRAWN: ("终止公示期间被撤销", "revoked while withdrawn by an operator"),
    AuditEvent.SOURCE_RELINKED: ("源记录编号变更", "department's record id changed"),
    AuditEvent.DISPLAY_ENDED: ("公示结束", "display ended"),
    AuditEvent.CREDIT_REPAIR: ("信用修复", "credit repair"),
    AuditEvent.CREDIT_REPAIR_UNMATCHED: ("信用修复（未匹配）", "credit repair not matched"),
    AuditEvent.PUSH_ATTEMPT: ("推送尝试", "push attempt"),
    AuditEvent.RECEIPTS_STORED: ("推送回执", "receipts stored"),
    AuditEvent.PUSH_REJECTED: ("推送被退回", "push rejected"),
    AuditEvent.PUSH_FAILED: ("推送失败", "push failed"),
    AuditEvent.MANUAL_REDRIVE: ("人工重推", "manual re-drive"),
    AuditEvent.RECONCILIATION: ("对账", "reconciliation"),
    AuditEvent.RECONCILED: ("对账修正", "reconciled"),
    AuditEvent.TAMPER_DETECTED: ("发现篡改", "tampering detected"),
    AuditEvent.STORE_SEALED: ("存储封签", "store sealed"),
    AuditEvent.AUDIT_PRUNED: ("审计归档", "audit pruned"),
    AuditEvent.DAG_RUN_STARTED: ("调度运行开始", "Airflow run started"),
    AuditEvent.DAG_RUN_ENDED: ("调度运行结束", "Airflow run ended"),
    AuditEvent.RUN_OVERDUE: ("运行超时未完成", "run past its deadline"),
    AuditEvent.RECORD_VERSION: ("记录新版本", "record version"),
    AuditEvent.PUSH_RECEIPT: ("推送回执", "push receipt"),
    AuditEvent.CREDIT_FEED_PULLED: ("信用名单/评价同步", "credit lists or grades pulled"),
    AuditEvent.CREDIT_CHECKED: ("信用核查", "credit check"),
    AuditEvent.DRAW_COMMITTED: ("抽查种子承诺", "spot-check seed committed"),
    AuditEvent.DRAW_PUBLISHED: ("抽查名单公布", "spot-check draw published"),
    AuditEvent.DRAW_VERIFIED: ("抽查复核", "spot-check draw verified"),
    AuditEvent.CREDIT_DELIVERED: ("名单推送至部门", "credit changes delivered to a department"),
}


def label(event: str) -> tuple[str, str]:
    """``(zh, en)`` of a stored event name; an unknown one (a newer gateway's) shows as itself."""
    try:
        return LABELS[AuditEvent(event)]
    except ValueError:
        return event, event
