"""Bulk appends: one lock, one multi-row INSERT, and a chain that verifies like single appends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from creditsync.audit import AuditTrail, EntryDraft, verify_chain
from creditsync.store import Store, open_store
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import AuditEntry, AuditHead, Record
from creditsync.store.states import RecordState

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _events(count: int, prefix: str = "k") -> list[EntryDraft]:
    return [EntryDraft("record_version", department="health", category="penalty",
                       business_key=f"penalty:{prefix}:{n}", run_id="r1", details={"n": n})
            for n in range(count)]


def _entries(store: Store) -> list[AuditEntry]:
    with store.reader() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_bulk_append_chains_in_order_and_verifies(store: Store) -> None:
    trail = AuditTrail(actor="tester")
    with store.transaction() as session:
        trail.append(session, "run_started", run_id="r1")
        trail.append_many(session, _events(50))
        trail.append_many(session, [])
        trail.append_many(session, _events(3, "again"))
        trail.append(session, "run_finished", run_id="r1")
    entries = _entries(store)
    assert [e.id for e in entries] == list(range(1, 56))
    assert [e.details.get("n") for e in entries[1:51]] == list(range(50))
    with store.reader() as session:
        result = verify_chain(session)
        head = session.get(AuditHead, 1)
    assert result.ok and result.checked == 55, result
    assert head is not None and (head.last_id, head.last_hash) == (55, entries[-1].hash)


def test_bulk_append_is_one_insert_statement(store: Store) -> None:
    statements: list[str] = []

    def count(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.transaction() as session:
            AuditTrail(actor="tester").append_many(session, _events(200))
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len(_entries(store)) == 200
    # executemany through insertmanyvalues: a handful of multi-row statements at most, never 200
    assert 1 <= len(statements) <= 2, len(statements)


def test_bulk_append_with_pending_orm_objects(store: Store) -> None:
    """Records added but not yet flushed commit with the entries that describe them (the lifecycle's
    writes, done here by hand)."""
    trail = AuditTrail(actor="tester")
    with lifecycle_writes(), store.transaction() as session:
        for n in range(3):
            session.add(Record(business_key=f"penalty:P:{n}", department="health", category="penalty",
                               document_no=f"D{n}", subject_name="某公司", mapped_hash="h",
                               state=RecordState.PENDING, first_seen_at=NOW, updated_at=NOW))
        trail.append_many(session, _events(3, "P"))
        session.add(Record(business_key="penalty:P:late", department="health", category="penalty",
                           document_no="DL", subject_name="某公司", mapped_hash="h",
                           state=RecordState.PENDING, first_seen_at=NOW, updated_at=NOW))
        trail.append(session, "record_version", business_key="penalty:P:late")
    with store.reader() as session:
        assert session.scalar(select(Record).where(Record.business_key == "penalty:P:late")) is not None
        assert len(list(session.scalars(select(Record)))) == 4
        assert verify_chain(session).ok


def test_bulk_append_masks_id_numbers(store: Store) -> None:
    with store.transaction() as session:
        AuditTrail(actor="tester").append_many(session, [EntryDraft(
            "note", details={"CF_XDR_ZJHM": "11010519491231002X", "text": "证件 11010519491231002X"})])
    details = _entries(store)[0].details
    assert "11010519491231002X" not in str(details)
    assert "110105********002X" in str(details)


def test_rolled_back_bulk_append_leaves_no_trace(store: Store) -> None:
    trail = AuditTrail(actor="tester")
    with store.transaction() as session:
        trail.append_many(session, _events(2))
    with pytest.raises(RuntimeError), store.transaction() as session:
        trail.append_many(session, _events(5, "lost"))
        raise RuntimeError("the run failed")
    with store.transaction() as session:
        trail.append_many(session, _events(1, "after"))
    assert [e.id for e in _entries(store)] == [1, 2, 3]
    with store.reader() as session:
        assert verify_chain(session).ok


def test_concurrent_bulk_appends_keep_the_chain_linear(pg_url: str) -> None:
    """Two transactions append at once on PostgreSQL: the second waits for the head lock."""
    stores = [open_store(pg_url) for _ in range(2)]
    trail = AuditTrail(actor="tester")
    with stores[0].transaction() as session:
        trail.append(session, "run_started")  # the head exists before the race
    first_locked, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with stores[0].transaction() as session:
                trail.append_many(session, _events(40, "a"))
                first_locked.set()
                release.wait(10)
        except BaseException as exc:
            failures.append(exc)
            first_locked.set()

    def second() -> None:
        try:
            first_locked.wait(10)
            with stores[1].transaction() as session:
                trail.append_many(session, _events(40, "b"))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_locked.wait(10)
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second transaction did not wait for the head lock"
    release.set()
    for thread in threads:
        thread.join(20)
    try:
        assert not failures, failures
        entries = _entries(stores[0])
        assert [e.id for e in entries] == list(range(1, 82))
        assert {e.business_key.split(":")[1] for e in entries[1:41] if e.business_key} == {"a"}
        assert {e.business_key.split(":")[1] for e in entries[41:] if e.business_key} == {"b"}
        with stores[0].reader() as session:
            assert verify_chain(session).ok
    finally:
        for handle in stores:
            handle.dispose()


def test_concurrent_first_appends_create_one_head(pg_url: str) -> None:
    """Neither of two first-ever appends dies on the head row's primary key."""
    stores = [open_store(pg_url) for _ in range(2)]
    barrier, failures = threading.Barrier(2), []

    def append(handle: Store, prefix: str) -> None:
        try:
            with handle.transaction() as session:
                barrier.wait(5)
                AuditTrail(actor="tester").append_many(session, _events(5, prefix))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(h, p)) for h, p in zip(stores, "ab", strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    try:
        assert not failures, failures
        with stores[0].reader() as session:
            result = verify_chain(session)
        assert result.ok and result.checked == 10, result
    finally:
        for handle in stores:
            handle.dispose()
