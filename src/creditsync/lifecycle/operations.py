"""A person's operations on records, each one transaction with its audit entries: what the CLI
(``creditsync withdraw``, ``release``, ``relink``, ``quarantine resolve``) and the console's buttons
call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from creditsync.lifecycle.changes import ChangeSet, RunScope
from creditsync.lifecycle.quarantine import resolve_entries
from creditsync.lifecycle.relink import Relinked, relink_ids
from creditsync.lifecycle.stored import raise_tamper_alarm
from creditsync.lifecycle.withdrawals import (
    TakenDown,
    TamperedRecord,
    find_record,
    operator_release,
    operator_withdraw,
)
from creditsync.store import Store
from creditsync.store.bulk import lock_department

T = TypeVar("T")


def run(store: Store, scope: RunScope, plan: Callable[[Session, ChangeSet], T]) -> T:
    """``plan`` inside one transaction, its change set applied; a record that failed its seal is
    alarmed (in a transaction of its own, so the alarm stays) and the operation refused."""
    try:
        with store.transaction() as session:
            changes = ChangeSet(scope)
            result = plan(session, changes)
            changes.apply(session)
            return result
    except TamperedRecord as exc:
        with store.transaction() as session:
            changes = ChangeSet(scope)
            raise_tamper_alarm(session, changes, [exc.row], where="operator")
            changes.apply(session)
        raise


def withdraw(store: Store, scope: RunScope, key_or_document_no: str, reason: str,
             **details: Any) -> TakenDown:
    """终止公示 by an operator (sticky until released)."""
    def plan(session: Session, changes: ChangeSet) -> TakenDown:
        record = find_record(session, key_or_document_no)
        lock_department(session, record.department)
        return operator_withdraw(session, changes, record.business_key, reason, **details)

    return run(store, _for(scope, store, key_or_document_no), plan)


def release(store: Store, scope: RunScope, key_or_document_no: str, reason: str) -> dict[str, Any]:
    """Lift an operator's 终止公示."""
    def plan(session: Session, changes: ChangeSet) -> dict[str, Any]:
        record = find_record(session, key_or_document_no)
        lock_department(session, record.department)
        return operator_release(session, changes, record.business_key, reason)

    return run(store, _for(scope, store, key_or_document_no), plan)


RELINK_BATCH = 500  # old ids per transaction: a whole system's ids go in bounded steps


def relink(store: Store, scope: RunScope, category: str | None, mapping: Mapping[str, str], reason: str,
           progress: Callable[[int], None] = lambda _done: None) -> Relinked:
    """The department's new ids for its decisions (``scope.department``), a batch per transaction; a
    run stopped half-way is run again with the same mapping (what moved is then reported unknown)."""
    done, olds = Relinked(), sorted(mapping)
    for low in range(0, len(olds), RELINK_BATCH):
        batch = {old: mapping[old] for old in olds[low:low + RELINK_BATCH]}

        def plan(session: Session, changes: ChangeSet, batch: Mapping[str, str] = batch) -> Relinked:
            return relink_ids(session, changes, scope.department, category, batch, reason)

        done.add(run(store, scope, plan))
        progress(min(low + RELINK_BATCH, len(olds)))
    return done


def resolve(store: Store, scope: RunScope, entry_ids: Sequence[int], reason: str) -> list[int]:
    """Close quarantine entries by hand, each audited."""
    return run(store, scope, lambda session, changes: resolve_entries(session, changes, entry_ids, reason))


def _for(scope: RunScope, store: Store, key_or_document_no: str) -> RunScope:
    """The scope names the record's department (the audit entry and the outbox item carry it)."""
    with store.reader() as session:
        try:
            department = find_record(session, key_or_document_no).department
        except Exception:
            return scope  # the operation itself says what is wrong
    return RunScope(department, scope.run_id, scope.audit, scope.try_number)
