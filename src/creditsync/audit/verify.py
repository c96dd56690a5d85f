"""Checking the whole chain, streaming, and naming the first entry that does not fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit.retention import chain_start
from creditsync.audit.trail import entry_hash
from creditsync.store.models import AuditEntry, AuditHead


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    entry_id: int | None = None


def verify_chain(
    session: Session, *, chunk: int = 5000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    start = chain_start(session)  # GENESIS and entry 1, or where the last retention prune anchored it
    if start.problem:
        return VerifyResult(False, 0, start.problem, start.first_id)
    prev_hash, expected_id, checked = start.prev_hash, start.first_id, 0
    query = (select(AuditEntry).where(AuditEntry.id >= start.first_id).order_by(AuditEntry.id)
             .execution_options(yield_per=chunk))
    for entry in session.scalars(query):
        problem = _check(entry, expected_id, prev_hash)
        if problem:
            return VerifyResult(False, checked, problem, entry.id)
        prev_hash, expected_id, checked = entry.hash, entry.id + 1, checked + 1
        if progress and checked % chunk == 0:
            progress(checked)
    return _check_head(session, checked, expected_id - 1, prev_hash)


def _check(entry: AuditEntry, expected_id: int, prev_hash: str) -> str | None:
    if entry.id != expected_id:
        missing = f"{expected_id}" if entry.id == expected_id + 1 else f"{expected_id}..{entry.id - 1}"
        return f"entry {missing} is missing before entry {entry.id} (removed)"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.id} does not follow entry {entry.id - 1} (reordered or predecessor altered)"
    if entry_hash(prev_hash, entry) != entry.hash:
        return f"entry {entry.id} ({entry.event}) was altered: its content does not match its hash"
    return None


def _check_head(session: Session, checked: int, last_id: int, last_hash: str) -> VerifyResult:
    head = session.get(AuditHead, 1)
    if head is None:
        if checked:
            return VerifyResult(False, checked, "the chain head is missing", None)
        return VerifyResult(True, 0)
    if head.last_id != last_id or head.last_hash != last_hash:
        return VerifyResult(
            False, checked, f"entries after {last_id} were removed (the head names entry {head.last_id})",
            last_id + 1,
        )
    return VerifyResult(True, checked)
