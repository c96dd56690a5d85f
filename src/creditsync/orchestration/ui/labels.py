"""Chinese labels (with the English term shown smaller beside them) for what the pages display."""

from __future__ import annotations

from functools import cache

from creditsync.audit.events import AuditEvent

RECORD_STATES = {
    "published": "已公示", "pending": "待确认", "rejected": "被退回", "withdrawn": "已撤回",
    "revoked": "已撤销", "withdrawing": "撤回中", "repaired": "已修复", "expired": "已过期",
    "protected": "依规不予公示", "operator_withdrawn": "人工终止公示", "replaced": "文书号已变更",
    "quarantined": "已隔离",
}
STAGES = {"source": "来源", "mapping": "映射", "validation": "校验", "platform": "平台", "protected": "保护",
          "tampered": "篡改"}
OUTBOX_STATUSES = {"pending": "待推送", "acked": "已确认", "rejected": "被退回", "superseded": "已取代",
                   "refused": "拒绝发送"}
# what a re-drive's re-read found (creditsync.lifecycle.quarantine)
RETRY_OUTCOMES = {"pending": "等待重读 waiting for the next sync", "still_invalid": "仍有问题 still invalid",
                  "fixed": "已更正 fixed", "requeued": "已重新排队 queued again"}
ACTIONS = {"upsert": "公示", "withdraw": "终止公示"}
# incomplete: the platform could not be reached; the next run continues the delivery
RUN_STATUSES = {"running": "运行中", "success": "成功", "partial": "部分成功", "failed": "失败",
                "incomplete": "推送未完成"}
EVENTS = {event.value: event.label_zh for event in AuditEvent}
# An audit entry's details, labelled (a name not listed here shows as itself)
DETAIL_NAMES = {
    "reason": "原因", "document_no": "文书号", "source_key": "源记录标识", "source_hash": "来源哈希",
    "mapped_hash": "推送内容哈希", "stage": "环节", "errors": "问题", "try_number": "尝试次数",
    "count": "条数", "root": "默克尔根", "cursor_from": "游标起点", "cursor_to": "游标终点",
    "batch_id": "批次", "version": "版本", "state_before": "原状态", "state": "状态", "counts": "计数",
    "size": "条数", "keys": "业务键", "attempt": "尝试", "acked": "已确认", "rejected": "被退回",
    "trigger": "触发方式", "status": "状态", "summary": "汇总", "entry_id": "隔离条目",
    "entry_ids": "隔离条目", "outcome": "结果", "resolution": "处理", "subject_name": "行政相对人",
    "business_key": "业务键", "platform": "平台", "queued": "排队", "action": "动作", "category": "类别",
}


@cache
def categories() -> dict[str, str]:
    """Category → its Chinese title, from the schema's own data (empty if the schema cannot load)."""
    try:
        from creditsync.schema import CATEGORIES
    except Exception:  # a label is never worth a failed page
        return {}
    return {name: spec.title_zh for name, spec in CATEGORIES.items()}


def age(seconds: int | None) -> tuple[str, str]:
    """``(zh, en)`` for a duration: ``("2 小时 5 分", "2h 5m")``."""
    if seconds is None:
        return "", ""
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days} 天 {hours} 小时", f"{days}d {hours}h"
    if hours:
        return f"{hours} 小时 {minutes} 分", f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes} 分钟", f"{minutes} min"
    return f"{seconds} 秒", f"{seconds} s"
