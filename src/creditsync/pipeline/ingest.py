"""One chunk of source records: translated (mapped and validated) outside any transaction, then decided
and written by the record lifecycle (creditsync.lifecycle.source) in one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from creditsync.credit.feedback import refuse_after_repair
from creditsync.exceptions import FieldError
from creditsync.hashing import content_hash
from creditsync.lifecycle import ChangeSet, ChunkPlan, ReadThisRun, RunScope, SourceItem, decide_chunk
from creditsync.lifecycle.rows import printable
from creditsync.pipeline.translate import Translation, Translator
from creditsync.publication.display_period import record_display_until
from creditsync.publication.protection import hold_back_error
from creditsync.publication.severity import severity_of
from creditsync.schema import get_category
from creditsync.sources.base import RawRecord
from creditsync.store.states import QuarantineStage


def chunks(rows: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """``rows`` in lists of ``size``, read lazily: a source is never held whole."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def translate_chunk(translator: Translator, chunk: Sequence[RawRecord]) -> list[SourceItem]:
    """The CPU part, outside any transaction: each source record as the lifecycle needs it."""
    return [_item(translator, raw) for raw in chunk]


def _item(translator: Translator, raw: RawRecord) -> SourceItem:
    source_key, source_hash = printable(str(raw.key))[:200], content_hash(raw.data)
    if raw.error:
        return SourceItem(source_key, source_hash, raw.data, stage=QuarantineStage.SOURCE,
                          problems=[_unreadable(translator, raw)], identifies=translator.keys_identify)
    translation = translator.translate(raw.data)
    revoked, trace = translator.is_revoked(raw.data), _trace(translator.category, translation)
    record = translation.record
    if record is None:
        return SourceItem(source_key, source_hash, raw.data, revoked, trace=trace,
                          stage=QuarantineStage(translation.stage), problems=list(translation.errors),
                          identifies=translator.keys_identify)
    payload = record.to_payload()
    return SourceItem(
        source_key, source_hash, raw.data, revoked, trace=trace, key=record.business_key(), payload=payload,
        identifies=translator.keys_identify,
        masked=record.masked_payload(),
        mapped_hash=content_hash(payload),
        held_back=hold_back_error(translator.category, payload, translator.hold_back),
        fields={"document_no": record.document_number(), "subject_name": record.subject_name(),
                "decision_date": record.decision_date(), **_display_period(translator, payload)})


def _unreadable(translator: Translator, raw: RawRecord) -> FieldError:
    """The adapter's reason is quoted once (it may already be bilingual, as the file source's is), with
    the subject, if the mapping finds one, so the department knows which decision it is."""
    subject = ""
    if translator.mapping is not None and isinstance(raw.data, dict):
        field = get_category(translator.category).keys.subject_name
        name = translator.mapping.apply(raw.data).data.get(field)
        subject = f"（行政相对人：{name}）" if isinstance(name, str) and name.strip() else ""
    return FieldError("(record)", f"源记录无法读取：{raw.error}{subject}", "the source record is unreadable",
                      kind="unreadable")


def _trace(category: str, translation: Translation) -> dict[str, str]:
    """The 文书号 the mapping found, if any: a record quarantined before it ever had a business key can
    still be traced by it (``creditsync audit trace 文书号``)."""
    value = translation.mapped.get(get_category(category).keys.document_number)
    return {"document_no": value.strip()} if isinstance(value, str) and value.strip() else {}


def _display_period(translator: Translator, payload: dict[str, Any]) -> dict[str, Any]:
    """A penalty's severity and last display day (信用修复管理办法), stored with each version."""
    if translator.category != "penalty":
        return {"severity": None, "display_until": None}
    severity = severity_of(payload, department_default=translator.severity_default)
    return {"severity": str(severity),
            "display_until": record_display_until(translator.category, payload, severity)}


def ingest_chunk(session: Session, scope: RunScope, translator: Translator,
                 items: list[SourceItem], this_run: ReadThisRun | None = None) -> Counter[str]:
    """Decide and write one translated chunk (the caller holds the transaction and the department lock;
    ``this_run``: what the stream's earlier chunks did)."""
    items = refuse_after_repair(session, translator.category, items)  # repair ends the measures
    decision = decide_chunk(session, scope.sealer, scope.department, translator.category, scope.run_id, items,
                            this_run)
    plan = ChunkPlan(ChangeSet(scope), translator.category, translator.mapping_digest, translator.adapter,
                     decision)
    plan.plan(session)
    plan.changes.apply(session)
    return Counter({str(outcome): count for outcome, count in decision.outcomes.items()})
