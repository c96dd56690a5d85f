"""What the department's system says, a chunk at a time: decide every record with the transition table
and plan the chunk's writes (records, versions, outbox items, quarantine entries, audit).

The pipeline translates (maps and validates) a chunk outside any transaction and hands the lifecycle
one :class:`SourceItem` per source record; :func:`decide_chunk` reads what the store knows of the whole
chunk in a few queries and decides every item (shared with ``sync --dry-run``); :func:`plan_chunk` turns
the decisions into a :class:`~creditsync.lifecycle.changes.ChangeSet`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.exceptions import FieldError
from creditsync.lifecycle.changes import ChangeSet
from creditsync.lifecycle.claims import earlier_claims, mark_conflicts
from creditsync.lifecycle.deliveries import ReadThisRun
from creditsync.lifecycle.quarantine import plan_quarantine
from creditsync.lifecycle.rows import outbox_row, printable
from creditsync.lifecycle.seal import Sealer
from creditsync.lifecycle.stored import (
    StoredRecords,
    load_linked,
    load_records,
    load_writers,
    raise_tamper_alarm,
)
from creditsync.lifecycle.transitions import Known, Outcome, Step, on_source, source_event, take_down
from creditsync.store.states import (
    OFF_DISPLAY,
    STICKY,
    OutboxAction,
    QuarantineStage,
    RecordState,
    WithdrawCause,
    effective_state,
    held_over,
)


@dataclass
class SourceItem:
    """One source record as translated: its identity and content, or why it cannot be published."""

    source_key: str
    source_hash: str
    data: dict[str, Any]  # as the department sent it (masked before it is kept anywhere)
    revoked: bool = False
    key: str | None = None  # the business key of a valid record
    payload: dict[str, Any] | None = None  # the push payload (full ID numbers)
    masked: dict[str, Any] | None = None
    mapped_hash: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # document_no, subject_name, decision_date, …
    held_back: FieldError | None = None  # the publication rule that keeps it off the platform
    problems: list[FieldError] = field(default_factory=list)  # why it is invalid
    stage: QuarantineStage | None = None  # where it failed (source, mapping, validation)
    trace: dict[str, str] = field(default_factory=dict)  # 文书号/subject found even in an invalid record
    conflict: FieldError | None = None
    step: Step | None = None
    replaces: list[dict[str, Any]] = field(default_factory=list)  # records the 文书号 change takes down
    # source_key is the department's id of the decision (False: a place in a file, <name>#<row>, that
    # next week's file of the same name fills with another decision): only such an id links a record
    # to its earlier 文书号 or closes the quarantine entries of the row it replaces
    identifies: bool = True
    # a revocation that takes its decision over from the id that stored it earlier in this run (the case
    # entered twice, read in two chunks): the record then names the revoking id (lifecycle.claims)
    adopts: bool = False

    @property
    def valid(self) -> bool:
        return self.key is not None and self.conflict is None


@dataclass
class ChunkDecision:
    items: list[SourceItem]
    stored: StoredRecords
    outcomes: Counter[str]


# -- deciding ------------------------------------------------------------------------------------------

def decide_chunk(session: Session, sealer: Sealer, department: str, category: str, run_id: str,
                 items: list[SourceItem], this_run: ReadThisRun | None = None) -> ChunkDecision:
    """Decide every item against the store (read only); an item read twice in the chunk counts once.
    ``this_run``: the file rows of the stream's earlier chunks that took a decision down (updated)."""
    keys = {item.key for item in items if item.key}
    linked = load_linked(session, sealer, department, category,
                         [i.source_key for i in items if i.key and i.identifies])
    linked_keys = {row["business_key"] for rows in linked.values() for row in rows}
    stored = load_records(session, sealer, keys | linked_keys)
    # which file's row wrote what this run stored (a later file updates it; an earlier one does not)
    load_writers(session, sealer, stored, run_id, [i.key for i in items if i.key and not i.identifies])
    outcomes: Counter[str] = Counter()
    latest = {item.source_key: index for index, item in enumerate(items)}
    claims = earlier_claims(session, department, category, items)
    deciding = []
    for index, item in enumerate(items):
        if latest[item.source_key] != index:  # read again later in the chunk (updated during the read)
            item.step = Step(Outcome.UNCHANGED)
            outcomes[Outcome.UNCHANGED] += 1
        else:
            deciding.append(item)
    mark_conflicts(deciding, stored, run_id, claims, this_run)
    after: dict[str, Known] = {}
    for item in deciding:
        item.step = _decide(item, stored, after, linked)
        outcomes[item.step.outcome] += 1
    return ChunkDecision(items, stored, outcomes)


def _decide(item: SourceItem, stored: StoredRecords, after: dict[str, Known],
            linked: dict[str, list[dict[str, Any]]]) -> Step:
    if item.key is not None:  # a new 文书号 takes the old one's row down, even
        item.replaces = [stored.rows[row["business_key"]] for row in linked.get(item.source_key, [])
                         if row["business_key"] != item.key and row["business_key"] in stored.rows]
    if not item.valid:  # … where the new number is held as claimed by another record
        return Step(Outcome.REVOKED if item.revoked else Outcome.QUARANTINED)
    assert item.key is not None
    # a record whose row fails its seal is left alone until a person restores it; so is a decision
    # renumbered away from such a row (it would show under both numbers meanwhile)
    if item.key in stored.tampered or any(row["business_key"] in stored.tampered
                                          for row in linked.get(item.source_key, [])):
        return Step(Outcome.TAMPERED)
    known = after.get(item.key) or stored.known(item.key)
    event = source_event(revoked=item.revoked, held_back=item.held_back is not None,
                         mapped_hash=item.mapped_hash, known=known)
    step = on_source(event, known)
    # the decision moves to a number that is new, or off display (another decision's, revoked or
    # renumbered): what kept it off under its old number keeps it off under this one
    moving = all(row["business_key"] != item.key for row in linked.get(item.source_key, []))
    off = known is None or known.effective in OFF_DISPLAY
    inherited = _inherited_cause(item.replaces) if moving and off else None
    if inherited is not None and step.state is not None:
        # The decision was repaired, expired or withdrawn by an operator under its old 文书号: its new
        # number does not put it back on display, and a revocation with the move is remembered under
        # the operator's hold (a release must not publish it, nor its lifting undo the hold).
        revoked = step.outcome is Outcome.REVOKED and inherited is WithdrawCause.OPERATOR
        audit = AuditEvent.REVOKED_WHILE_WITHDRAWN if revoked else AuditEvent.REPUBLISH_BLOCKED
        step = Step(Outcome.BLOCKED, inherited.final_state, event=audit,
                    cause=WithdrawCause.REVOKED if revoked else inherited, stores_version=True)
    if step.stores_version or step.state is not None:
        after[item.key] = _known_after(item, known, step)
    return step


def _inherited_cause(replaced: list[dict[str, Any]]) -> WithdrawCause | None:
    causes = [effective_state(row["state"], row["withdraw_reason"]) for row in replaced]
    for state, cause in ((RecordState.REPAIRED, WithdrawCause.REPAIRED),
                         (RecordState.EXPIRED, WithdrawCause.EXPIRED),
                         (RecordState.OPERATOR_WITHDRAWN, WithdrawCause.OPERATOR)):
        if state in causes:
            return cause
    return None


def _known_after(item: SourceItem, known: Known | None, step: Step) -> Known:
    """What the store will know of the record once this item's step is written (a second claim on
    the same key later in the chunk is decided against it)."""
    version = (known.version if known else 0) + (1 if step.stores_version else 0)
    state = step.state or (known.state if known else RecordState.PENDING)
    mapped = item.mapped_hash if step.stores_version else (known.mapped_hash if known else "")
    reason = step.withdraw_reason or (known.withdraw_reason if known else None)
    return Known(state, reason, version, mapped or "", None if step.new_row else
                 (known.platform_id if known else None), bool(known and known.sent_before))


# -- planning the writes -------------------------------------------------------------------------------

@dataclass
class ChunkPlan:
    """Turns one decided chunk into writes."""

    changes: ChangeSet
    category: str
    mapping_digest: str | None
    adapter: str
    decision: ChunkDecision
    quarantined: list[tuple[SourceItem, QuarantineStage, list[FieldError]]] = field(default_factory=list)
    fixed: dict[str, str] = field(default_factory=dict)  # source key → resolution of its open entries
    fixed_records: dict[str, str] = field(default_factory=dict)  # … by business key, for file rows
    fixed_places: dict[str, tuple[str, str]] = field(default_factory=dict)  # file row → (文书号, resolution)
    settled_rows: dict[str, str] = field(default_factory=dict)  # source key → resolution of its row entries

    @property
    def sealer(self) -> Sealer:
        return self.changes.scope.sealer

    def plan(self, session: Session) -> None:
        self.changes.version_category = self.category
        raise_tamper_alarm(session, self.changes, self.decision.stored.tampered.values(), where="sync")
        for item in self.decision.items:
            self._plan_item(item)
        plan_quarantine(session, self.changes, self.category, self.quarantined, self.fixed,
                        self.fixed_records, self.fixed_places, self.settled_rows)

    def _plan_item(self, item: SourceItem) -> None:
        step = item.step
        assert step is not None
        if item.identifies and item.revoked:  # nothing left to fix in the department's earlier rows
            self.settled_rows[item.source_key] = "superseded: revoked by the department"
        elif item.identifies and step.outcome is Outcome.UNCHANGED and item.conflict is None:
            self.settled_rows[item.source_key] = "superseded: the row now says what the decision says"
        if step.outcome is Outcome.QUARANTINED:
            for old in item.replaces:  # a live old number goes; a held, repaired or expired one stays
                if effective_state(old["state"], old["withdraw_reason"]) not in STICKY:  # linked, so
                    self._replace(old, item)  # that the new number inherits it once it goes through
            self._quarantine(item)
            return
        if step.outcome is Outcome.TAMPERED or item.key is None:
            return
        assert item.key is not None
        carried = step.state in STICKY  # the new number's record carries the old one's sticky cause
        for old in item.replaces:  # else a held, repaired or expired old number stays linked, so that
            if carried or effective_state(old["state"], old["withdraw_reason"]) not in STICKY:
                self._replace(old, item)  # the new number inherits it once it is published
        if item.held_back is not None:
            self.quarantined.append((item, QuarantineStage.PROTECTED, [item.held_back]))
        if step.outcome is Outcome.PROTECTED and step.state is None and not step.stores_version:
            return  # a new decision held back, or the held version read again: only its quarantine entry
        if step.event is AuditEvent.REPUBLISH_BLOCKED and step.state is None and not step.stores_version:
            self._event(item, step.event, state=self._row(item.key)["state"], mapped_hash=item.mapped_hash)
            return
        if step.state is not None or step.stores_version:
            self._apply_step(item, step)

    def _apply_step(self, item: SourceItem, step: Step) -> None:
        assert item.key is not None
        current = self._current(item.key)
        row = dict(current) if current else self._new_row(item)
        before = dict(row)
        if item.adopts:
            row["source_key"] = item.source_key
        if step.stores_version:
            row.update(self._fields(item), version=(row["version"] if current else 0) + 1,
                       mapped_hash=item.mapped_hash, run_id=self.changes.scope.run_id)
            if current and not item.identifies and current.get("source_key"):
                # a file row corrects a decision the department's system delivers with its own id:
                # the record stays linked to that id (a later 文书号 correction must still find it)
                row["source_key"] = current["source_key"]
            self._version(item, row["version"])
        if step.outcome is Outcome.BLOCKED and current is None:  # inherited from the decision's old key
            row["repair_decision_no"] = next((old["repair_decision_no"] for old in item.replaces
                                              if old.get("repair_decision_no")), None)
        if step.state is not None:
            self._enter_state(item, row, before, step, known=current is not None)
        if step.event is not None:
            self._event(item, step.event, version=row["version"], state_before=before.get("state"),
                        state=row["state"], cause=str(step.cause) if step.cause else None)
        self.changes.write_record(row, new=current is None, before=self.decision.stored.rows.get(item.key))
        if step.action is OutboxAction.UPSERT:
            assert item.payload is not None and item.mapped_hash is not None
            self.changes.outbox.append(self._item(row, OutboxAction.UPSERT, item.payload))
            fixed = f"fixed at source: version {row['version']} of {item.key}"
            if item.identifies:
                self.fixed[item.source_key] = fixed
            else:  # a file row: the entries of this decision, not of whatever sat in that row before
                self.fixed_records[item.key] = fixed
                if item.fields.get("document_no"):  # … and a bad row in its place with its 文书号
                    self.fixed_places[item.source_key] = (str(item.fields["document_no"]), fixed)

    def _enter_state(self, item: SourceItem, row: dict[str, Any], before: dict[str, Any], step: Step, *,
                     known: bool) -> None:
        assert step.state is not None and item.key is not None
        was = before.get("state")
        row["state"] = str(step.state)
        supersede = [item.key] if known else []  # a new record has nothing queued before this
        if step.state is RecordState.WITHDRAWING:
            row["withdraw_reason"] = step.withdraw_reason
            self.changes.supersede(supersede)
            if step.action is OutboxAction.WITHDRAW:  # else the withdrawal under way carries the cause
                self.changes.outbox.append(self._withdrawal(before))
        elif step.state is RecordState.PENDING:
            row["withdraw_reason"] = None
            self.changes.supersede(supersede)
            if was == RecordState.WITHDRAWING and item.key not in self.decision.stored.withdrawal_in_flight:
                self.changes.supersede([item.key], withdrawals=True)  # never sent: correct the live row
            elif step.new_row and was != RecordState.WITHDRAWING:
                row["platform_id"] = None  # a withdrawn row cannot be corrected: publish it anew
        else:  # a final state at once: nothing of it may still go out
            row["withdraw_reason"] = step.withdraw_reason or row.get("withdraw_reason")
            self.changes.supersede(supersede)

    def _replace(self, old: dict[str, Any], item: SourceItem) -> None:
        """The department gave this decision another 文书号: the old key's row comes off display (what is
        off for good stays so, and the new key inherited it in :func:`_decide`)."""
        step = take_down(RecordState(old["state"]), old["withdraw_reason"],
                         old["platform_id"] is not None
                         or old["business_key"] in self.decision.stored.sent_before,
                         WithdrawCause.REPLACED)
        event_details = {"replaced_by": item.key, "source_key": item.source_key}
        held = effective_state(old["state"], old["withdraw_reason"])
        if step is None or held in STICKY:
            if held is RecordState.OPERATOR_WITHDRAWN:  # held: a release must leave it off
                row = dict(self.changes.record(old["business_key"]) or old)
                in_flight = old["state"] == RecordState.WITHDRAWING
                row["withdraw_reason"] = (held_over(WithdrawCause.REPLACED) if in_flight
                                          else str(WithdrawCause.REPLACED))
                self.changes.write_record(row)
            self.changes.event(AuditEvent.RECORD_REPLACED, category=self.category,
                               business_key=old["business_key"],
                               state=old["state"], **event_details)
            return
        row = dict(self.changes.record(old["business_key"]) or old)
        row["state"], row["withdraw_reason"] = str(step.state), str(step.cause)
        self.changes.supersede([old["business_key"]])
        if step.queue:
            self.changes.outbox.append(self._withdrawal(old))
        self.changes.write_record(row)
        self.changes.event(AuditEvent.RECORD_REPLACED, category=self.category,
                           business_key=old["business_key"],
                           state_before=old["state"], state=row["state"], withdrawal_queued=step.queue,
                           **event_details)

    def _quarantine(self, item: SourceItem) -> None:
        if item.conflict is not None:
            self.quarantined.append((item, QuarantineStage.VALIDATION, [item.conflict]))
        else:
            self.quarantined.append((item, item.stage or QuarantineStage.VALIDATION, list(item.problems)))

    # -- rows --------------------------------------------------------------------------------------

    def _row(self, key: str) -> dict[str, Any]:
        found = self._current(key)
        if found is None:
            raise KeyError(key)
        return found

    def _current(self, key: str) -> dict[str, Any] | None:
        """The record as this chunk has made it so far, else as stored; None for a new decision."""
        return self.changes.record(key) or self.decision.stored.rows.get(key)

    def _new_row(self, item: SourceItem) -> dict[str, Any]:
        scope = self.changes.scope
        return {"business_key": item.key, "department": scope.department, "category": self.category,
                "state": str(RecordState.PENDING), "version": 0, "platform_id": None,
                "first_seen_at": self.changes.stamp, "published_at": None, "withdraw_reason": None,
                "repair_decision_no": None, "published_within_days": None, "withdrawn_within_days": None,
                **self._fields(item)}

    def _fields(self, item: SourceItem) -> dict[str, Any]:
        return {"document_no": item.fields.get("document_no"),
                "subject_name": item.fields.get("subject_name"),
                "decision_date": item.fields.get("decision_date"), "severity": item.fields.get("severity"),
                "display_until": item.fields.get("display_until"), "source_key": item.source_key}

    def _version(self, item: SourceItem, version: int) -> None:
        self.changes.versions.append({
            "business_key": item.key, "version": version, "run_id": self.changes.scope.run_id,
            "source_key": item.source_key, "source_hash": item.source_hash, "mapped_hash": item.mapped_hash,
            "mapping_digest": self.mapping_digest, "adapter": self.adapter,
            "payload_masked": item.masked or {}, "created_at": self.changes.stamp})

    def _item(self, row: dict[str, Any], action: OutboxAction, payload: dict[str, Any],
              resend: int = 0) -> dict[str, Any]:
        scope = self.changes.scope
        return outbox_row(self.sealer, business_key=row["business_key"], department=scope.department,
                          category=self.category, action=action, version=row["version"],
                          mapped_hash=row["mapped_hash"], payload=payload, run_id=scope.run_id,
                          created_at=self.changes.stamp, resend=resend)

    def _withdrawal(self, row: dict[str, Any]) -> dict[str, Any]:
        """Keyed by how many items the record had: a version may be withdrawn again (after a release)."""
        return self._item(row, OutboxAction.WITHDRAW, {}, resend=self.decision.stored.items.get(
            row["business_key"], 0))

    def _event(self, item: SourceItem, event: AuditEvent, **details: Any) -> None:
        self.changes.event(event, category=self.category, business_key=item.key,
                           source_key=item.source_key, source_hash=item.source_hash,
                           **{k: v for k, v in details.items() if v is not None})


__all__ = ["ChunkDecision", "ChunkPlan", "SourceItem", "decide_chunk", "printable"]
