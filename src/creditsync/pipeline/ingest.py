"""One chunk of source records, set-based: translate them, look up what the store knows of all of them
in one query, decide each (:mod:`creditsync.pipeline.decide`), and write the chunk's records, versions,
outbox items, quarantine entries and audit entries with one statement per table, in one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.exceptions import FieldError
from creditsync.pipeline.context import content_hash
from creditsync.pipeline.decide import Candidate, Decision, Known, Outcome, decide
from creditsync.pipeline.translate import Translation, Translator
from creditsync.publication.protection import hold_back_error
from creditsync.schema import CanonicalRecord, get_category
from creditsync.sources.base import RawRecord
from creditsync.store.models import OutboxItem, QuarantineItem, Record
from creditsync.store.rows import printable
from creditsync.store.states import OutboxAction, QuarantineStage, RecordState

CONFLICT_FIELD = "(record)"
CONFLICT_EN = "is also used by source record"  # how a stored conflict entry is recognised


@dataclass
class SourceRow:
    """One record as read and translated, before the store is asked about it."""

    raw: RawRecord
    source_hash: str
    translation: Translation | None  # None: the source could not read the record
    revoked: bool
    record: CanonicalRecord | None = None
    payload: dict[str, Any] | None = None
    mapped_hash: str | None = None
    conflict: FieldError | None = None  # another source record claims the same business key
    held_back: FieldError | None = None  # the publication rule that keeps it off the platform
    decision: Decision | None = None
    key: str | None = None  # the business key of a valid record

    @property
    def source_key(self) -> str:
        return printable(str(self.raw.key))[:200]

    def candidate(self) -> Candidate:
        valid = self.record is not None and self.conflict is None
        held = self.held_back.message_zh if self.held_back else None
        return Candidate(valid, self.revoked, self.mapped_hash, held)


@dataclass(frozen=True)
class KnownRecord:
    known: Known
    source_key: str | None
    run_id: str | None


def chunks(rows: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """``rows`` in lists of ``size``, read lazily: a source is never held whole."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def translate_chunk(translator: Translator, chunk: Sequence[RawRecord]) -> list[SourceRow]:
    """The CPU part, outside any transaction."""
    rows = []
    for raw in chunk:
        source_hash = content_hash(raw.data)
        if raw.error:
            rows.append(SourceRow(raw, source_hash, None, False))
            continue
        translation = translator.translate(raw.data)
        row = SourceRow(raw, source_hash, translation, translator.is_revoked(raw.data), translation.record)
        if row.record is not None:
            row.key = row.record.business_key()
            row.payload = row.record.to_payload()
            row.mapped_hash = content_hash(row.payload)
            row.held_back = hold_back_error(translator.category, row.payload)
        rows.append(row)
    return rows


def known_records(session: Session, keys: set[str]) -> dict[str, KnownRecord]:
    """What the store holds for these business keys: two queries for the whole chunk."""
    if not keys:
        return {}
    found = session.execute(select(
        Record.business_key, Record.state, Record.version, Record.mapped_hash, Record.platform_id,
        Record.source_key, Record.run_id).where(Record.business_key.in_(keys))).all()
    unsent = [r.business_key for r in found if r.platform_id is None]
    sent = set(session.scalars(select(OutboxItem.business_key).where(
        OutboxItem.business_key.in_(unsent), OutboxItem.action == OutboxAction.UPSERT,
        OutboxItem.attempts > 0))) if unsent else set()
    return {r.business_key: KnownRecord(
        Known(RecordState(r.state), r.version, r.mapped_hash, r.platform_id, r.business_key in sent),
        r.source_key, r.run_id) for r in found}


def held_conflicts(session: Session, department: str, category: str,
                   rows: Sequence[SourceRow]) -> dict[str, FieldError]:
    """Source hash → the reason, for rows held earlier as conflicting duplicates and still unresolved:
    the same unchanged row read again (the cursor is inclusive) stays held, and does not win a later run."""
    hashes = {row.source_hash for row in rows if row.key is not None}
    if not hashes:
        return {}
    found = session.execute(select(QuarantineItem.source_hash, QuarantineItem.errors).where(
        QuarantineItem.department == department, QuarantineItem.category == category,
        QuarantineItem.resolved_at.is_(None), QuarantineItem.stage == QuarantineStage.VALIDATION,
        QuarantineItem.source_hash.in_(hashes))).all()
    held = {}
    for source_hash, errors in found:
        for error in errors or []:
            if error.get("field") == CONFLICT_FIELD and CONFLICT_EN in str(error.get("message")):
                zh, _, en = str(error["message"]).partition(" (")
                held[source_hash] = FieldError(CONFLICT_FIELD, zh, en.removesuffix(")"))
    return held


def mark_conflicts(rows: list[SourceRow], known: dict[str, KnownRecord], run_id: str,
                   held: dict[str, FieldError] | None = None) -> None:
    """Two different source records with the same business key and different content, in one chunk or
    one run: neither may silently win. Both are held in one chunk; across chunks the later one is, and
    it stays held when read again unchanged by a later run (``held``)."""
    claims: dict[str, SourceRow] = {}
    for row in rows:
        if (key := row.key) is None:
            continue
        if held and row.source_hash in held:
            row.conflict = held[row.source_hash]
            continue
        other = claims.get(key)
        if other is not None and _differ(other, row):
            row.conflict = _conflict_error(key, other.source_key)
            other.conflict = other.conflict or _conflict_error(key, row.source_key)
        claims.setdefault(key, row)
        earlier = known.get(key)
        if (earlier is not None and earlier.run_id == run_id and earlier.source_key != row.source_key
                and earlier.known.mapped_hash != row.mapped_hash):
            row.conflict = _conflict_error(key, earlier.source_key or "?")


def _differ(a: SourceRow, b: SourceRow) -> bool:
    return a.source_key != b.source_key and (a.mapped_hash, a.revoked) != (b.mapped_hash, b.revoked)


def _conflict_error(key: str, other: str) -> FieldError:
    document = key.split(":", 2)[-1]
    return FieldError(CONFLICT_FIELD, f"文书号{document}与源记录{other}重复且内容不同，均不予公示，请核实",
                      f"document number {document} {CONFLICT_EN} {other} with other "
                      "content: neither is published until the department resolves it")


def decide_chunk(rows: list[SourceRow], known: dict[str, KnownRecord], run_id: str,
                 held: dict[str, FieldError] | None = None) -> Counter[str]:
    """Decide every row of a chunk; a record seen twice in the chunk is decided against its first."""
    latest = {row.source_key: index for index, row in enumerate(rows)}
    outcomes: Counter[str] = Counter()
    for index, row in enumerate(rows):
        if latest[row.source_key] != index:  # read again later in the chunk (updated during the read)
            row.decision = Decision(Outcome.UNCHANGED)
            outcomes[Outcome.UNCHANGED.value] += 1
    rows = [row for row in rows if row.decision is None]
    mark_conflicts(rows, known, run_id, held)
    decided: dict[str, Known] = {}
    for row in rows:
        key = row.key
        prior = decided.get(key) if key else None
        found = known.get(key) if key else None
        row.decision = decide(row.candidate(), prior or (found.known if found else None))
        outcomes[row.decision.outcome.value] += 1
        if key and row.decision.version and row.mapped_hash:
            decided[key] = _after(row)
    return outcomes


def _after(row: SourceRow) -> Known:
    """What the store will know of a record once this row's decision is written."""
    decision = row.decision
    assert decision is not None and row.mapped_hash is not None
    state = RecordState.REVOKED if decision.mark_revoked else RecordState.PENDING
    if decision.outcome is Outcome.WITHDRAWAL_QUEUED:
        state = RecordState.WITHDRAWING
    return Known(state, decision.version, row.mapped_hash, None, False)


def document_number(category: str, row: SourceRow) -> dict[str, str]:
    """The 文书号 the mapping found, if any: a record quarantined before it ever had a business key
    can still be traced by it (``creditsync audit trace 文书号``)."""
    if row.translation is None:
        return {}
    value = row.translation.mapped.get(get_category(category).keys.document_number)
    return {"document_no": value.strip()} if isinstance(value, str) and value.strip() else {}
