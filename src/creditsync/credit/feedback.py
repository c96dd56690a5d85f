"""Feedback on measures (``measure_feedback``, 联合奖惩措施实施反馈) checked against the lists the gateway
keeps: repair ends the measures, so a measure applied on or after the day its list entry was repaired
(or removed) is refused with the reason, before it is stored (the ingest of each chunk calls this)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.exceptions import FieldError
from creditsync.lifecycle.source import SourceItem
from creditsync.store.credit_models import CreditListCurrent, CreditListVersion
from creditsync.store.states import QuarantineStage

CATEGORY = "measure_feedback"
ENTRY, APPLIED, MEASURE = "FK_MDBH", "FK_SSRQ", "FK_CSMC"
_ZONE = ZoneInfo("Asia/Shanghai")
_ENDED = {"repaired": ("信用修复", "repaired"), "removed": ("移出名单", "removed from the list")}


@dataclass(frozen=True)
class _Ended:
    status: str
    day: date  # the local day the entry ended


def refuse_after_repair(session: Session, category: str, items: list[SourceItem]) -> list[SourceItem]:
    """``items`` with every measure applied after its entry ended turned into a refusal with the reason."""
    if category != CATEGORY:
        return items
    entries = {_entry(i) for i in items} - {None}
    if not entries:
        return items
    rows = session.execute(
        select(CreditListVersion.entry_id, CreditListVersion.status, CreditListVersion.changed_at)
        .join(CreditListCurrent, CreditListCurrent.version_id == CreditListVersion.id)
        .where(CreditListCurrent.entry_id.in_(entries), CreditListCurrent.status != "listed")).all()
    ended = {row.entry_id: _Ended(row.status, row.changed_at.astimezone(_ZONE).date()) for row in rows}
    return [_checked(item, ended) for item in items]


def _entry(item: SourceItem) -> str | None:
    return str(item.payload[ENTRY]) if item.payload and item.payload.get(ENTRY) else None


def _checked(item: SourceItem, ended: dict[str, _Ended]) -> SourceItem:
    entry = _entry(item)
    end = ended.get(entry) if entry else None
    if end is None or item.payload is None or date.fromisoformat(str(item.payload[APPLIED])) < end.day:
        return item
    zh, en = _ENDED.get(end.status, (end.status, end.status))
    day, measure = end.day.isoformat(), item.payload.get(MEASURE, "")
    problem = FieldError(ENTRY, f"该主体的名单记录已于{day}{zh}，惩戒措施随之停止，不得再实施{measure}",
                         f"the subject's list entry was {en} on {day}: its measures ended then",
                         kind="repaired")
    trace = {**item.trace, **({"document_no": str(item.fields["document_no"])}
                              if item.fields.get("document_no") else {})}
    return replace(item, key=None, payload=None, masked=None, mapped_hash=None, fields={}, held_back=None,
                   stage=QuarantineStage.VALIDATION, problems=[problem], trace=trace)
