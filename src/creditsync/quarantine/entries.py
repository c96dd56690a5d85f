"""Reading the quarantine: every entry with what a department needs to find and fix the record.

An entry keeps the row as the department sent it (masked) and its problems by standard field code.
The 文书号 and the subject's name are read from the record (platform rejections carry the standard
payload) or, for rows the gateway itself refused, by running the department's mapping over the masked
row again: the document number and the name survive masking, and mapping errors do not stop them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, Select, select

from creditsync.exceptions import CreditSyncError, FieldError, split_message
from creditsync.privacy import mask_text
from creditsync.settings import Settings
from creditsync.store.states import QuarantineStage
from creditsync.store.tables import quarantine, records

if TYPE_CHECKING:  # the schema and the mappings load their files when imported: only when describing
    from sqlalchemy.orm import Session

    from creditsync.mapping import MappingSpec
    from creditsync.store.models import QuarantineItem

# ``entries`` reads the Core tables (creditsync.store.tables) on a connection or a session, so
# ``creditsync quarantine list`` does not import the ORM and the models; ``select_items`` is the console's
# ORM query, with the same filters.

STAGES_ZH = {"source": "来源", "mapping": "映射", "validation": "校验", "platform": "平台",
             "protected": "保护", "tampered": "篡改"}
PSEUDO_FIELDS = {"(record)": "整条记录", "(platform)": "平台校验"}


@dataclass(frozen=True)
class Problem:
    field: str  # a standard field code, or (record) / (platform)
    title: str  # the field's Chinese name
    message_zh: str
    message: str  # Chinese (English), masked
    message_en: str = ""
    kind: str = "invalid"

    @property
    def field_label(self) -> str:
        return f"{self.field} {self.title}".strip() if self.title else self.field


@dataclass
class QuarantineView:
    id: int
    department: str
    category: str
    stage: str
    source_key: str | None
    business_key: str | None
    document_no: str | None
    subject_name: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    run_id: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def stage_zh(self) -> str:
        return STAGES_ZH.get(self.stage, self.stage)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "department": self.department, "category": self.category,
                "stage": self.stage, "source_key": self.source_key, "business_key": self.business_key,
                "document_no": self.document_no, "subject_name": self.subject_name,
                "created_at": utc(self.created_at).isoformat(), "run_id": self.run_id,
                "resolved_at": utc(self.resolved_at).isoformat() if self.resolved_at else None,
                "resolution": self.resolution,
                "errors": [{"field": p.field, "kind": p.kind, "title": p.title, "message": p.message,
                            "message_zh": p.message_zh, "message_en": p.message_en} for p in self.problems]}


@dataclass
class QuarantineFilter:
    department: str | None = None
    category: str | None = None
    stage: str | None = None
    include_resolved: bool = False
    limit: int | None = None  # the newest N (listing); None: all, oldest first (report)


def select_items(filters: QuarantineFilter) -> Any:
    """The filtered entries as ``QuarantineItem`` objects (the console adds its own conditions)."""
    from creditsync.store.models import QuarantineItem

    return _filtered(select(QuarantineItem), filters)


def _filtered(query: Select[Any], filters: QuarantineFilter) -> Select[Any]:
    if filters.department:
        query = query.where(quarantine.c.department == filters.department)
    if filters.category:
        query = query.where(quarantine.c.category == filters.category)
    if filters.stage:
        query = query.where(quarantine.c.stage == filters.stage)
    if not filters.include_resolved:
        query = query.where(quarantine.c.resolved_at.is_(None))
    if filters.limit:
        return query.order_by(quarantine.c.id.desc()).limit(filters.limit)
    return query.order_by(quarantine.c.category, quarantine.c.id)


def entries(session: Connection | Session, filters: QuarantineFilter,
            describer: Describer) -> Iterator[QuarantineView]:
    """Streamed; the report reads a department's whole quarantine this way."""
    for row in session.execute(_filtered(select(quarantine), filters).execution_options(yield_per=500)):
        yield describer.describe(session, row)


class Describer:
    """Turns a stored entry into a :class:`QuarantineView` (mappings loaded once per stream)."""

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self._mappings: dict[tuple[str, str], MappingSpec | None] = {}

    def describe(self, session: Connection | Session, item: QuarantineItem | Row[Any]) -> QuarantineView:
        document, subject = self._identify(session, item)
        titles = _titles(item.category)
        problems = [_problem(error, titles) for error in item.errors or []]
        return QuarantineView(
            id=item.id, department=item.department, category=item.category, stage=item.stage,
            source_key=item.source_key, business_key=item.business_key, document_no=document,
            subject_name=subject, created_at=item.created_at, resolved_at=item.resolved_at,
            resolution=item.resolution, run_id=item.run_id, problems=problems)

    def _identify(self, session: Connection | Session,
                  item: QuarantineItem | Row[Any]) -> tuple[str | None, str | None]:
        # a row held as a conflicting claim names the number it claims: the record there is another's
        own = item.business_key and item.stage != QuarantineStage.VALIDATION
        record = session.execute(select(records.c.document_no, records.c.subject_name).where(
            records.c.business_key == item.business_key)).first() if own else None
        if record is not None:
            return record.document_no, record.subject_name
        from creditsync.schema import CATEGORIES, get_category

        if item.category not in CATEGORIES:
            return None, None
        keys = get_category(item.category).keys
        data = item.raw_masked or {}
        if keys.document_number not in data:
            data = self._mapped(item)
        return _text(data.get(keys.document_number)), _text(data.get(keys.subject_name))

    def _mapped(self, item: QuarantineItem | Row[Any]) -> dict[str, Any]:
        mapping = self._mapping(item.department, item.category)
        if mapping is None:
            return {}
        try:
            return dict(mapping.apply(item.raw_masked or {}).data)
        except Exception:  # a description must never break the listing; the row is shown as it is
            return {}

    def _mapping(self, department: str, category: str) -> MappingSpec | None:
        if (department, category) not in self._mappings:
            self._mappings[(department, category)] = self._load_mapping(department, category)
        return self._mappings[(department, category)]

    def _load_mapping(self, department: str, category: str) -> MappingSpec | None:
        if self.settings is None:
            return None
        try:
            from creditsync.departments import load_department
            from creditsync.mapping import load_mapping

            # only the mapping's path is needed: not the source adapter's options (its import alone
            # doubled `creditsync quarantine list`'s start-up)
            config = load_department(self.settings.adapters_dir, department, check_sources=False)
            return load_mapping(config.mapping_path(self.settings.mappings_dir, config.stream(category)))
        except (CreditSyncError, OSError):
            return None  # a handed-over file's department, or a mapping since removed


def chinese_part(message: str) -> str:
    """``中文说明 (English explanation)`` → ``中文说明``."""
    return split_message(message)[0]


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite: naive UTC


def _problem(error: dict[str, Any], titles: dict[str, str]) -> Problem:
    reason = FieldError.from_stored(error)
    zh, en = mask_text(reason.message_zh), mask_text(reason.message_en)
    title = titles.get(reason.field) or PSEUDO_FIELDS.get(reason.field, "")
    return Problem(reason.field, title, zh, FieldError(reason.field, zh, en).message, en, reason.kind)


def _titles(category: str) -> dict[str, str]:
    from creditsync.schema import CATEGORIES, field_titles

    return field_titles(category) if category in CATEGORIES else {}


def _text(value: Any) -> str | None:
    return mask_text(str(value)) if value not in (None, "") else None
