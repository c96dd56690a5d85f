"""The audit trail's pages both ways (keyset over (ts, id), ties included) with the filtered total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from creditsync.orchestration.ui import audit_queries
from creditsync.orchestration.ui.audit_queries import AuditFilter, Position, audit_window
from creditsync.store import Store
from creditsync.store.models import AuditEntry


def _entries(store: Store, count: int = 23) -> None:
    tied = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.transaction() as s:
        s.execute(insert(AuditEntry), [
            {"id": n, "ts": tied if n % 3 else tied + timedelta(seconds=n), "event": "push_receipt",
             "actor": "t", "details": {}, "prev_hash": "0", "hash": "0"} for n in range(1, count + 1)])


def _token(position: Position | None) -> Position | None:
    return Position.parse(position.token()) if position else None  # as the links carry it


def test_older_then_newer_pages_give_back_the_same_pages_and_the_total(store: Store) -> None:
    _entries(store)
    pages, window = [], audit_window(store, AuditFilter(), size=5)
    assert window.newer is None and (window.total, window.total_capped) == (23, False)
    while True:
        pages.append([e["id"] for e in window.entries])
        if window.older is None:
            break
        window = audit_window(store, AuditFilter(), after=_token(window.older), size=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert sorted(i for page in pages for i in page) == list(range(1, 24))
    back = []
    while window.newer is not None:
        window = audit_window(store, AuditFilter(), before=_token(window.newer), size=5)
        back.append([e["id"] for e in window.entries])
        assert window.older is not None
    assert back == pages[-2::-1]  # page 4, 3, 2, 1 again, the first without a "previous"


def test_a_total_past_the_cap_is_said_to_be_more(store: Store) -> None:
    _entries(store, 12)
    assert audit_queries.audit_total(store, AuditFilter(), cap=10) == (10, True)
    assert audit_queries.audit_total(store, AuditFilter(event="nothing"), cap=10) == (0, False)


def test_quarantine_pages_both_ways_with_the_total(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from creditsync.orchestration.ui.quarantine_queries import QuarantineQuery, quarantine_page
    from creditsync.store.guard import lifecycle_writes
    from creditsync.store.models import QuarantineItem

    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))  # no department files: rows as stored
    with lifecycle_writes(), store.transaction() as s:
        s.add_all([QuarantineItem(run_id="r", department="market_supervision", category="penalty",
                                  source_key=f"P{n}", stage="validation", errors=[], raw_masked={},
                                  created_at=datetime(2026, 3, 2, tzinfo=UTC)) for n in range(7)])
    query = QuarantineQuery()
    first = quarantine_page(store, query, size=3)
    second = quarantine_page(store, query, after=first.older, size=3)
    third = quarantine_page(store, query, after=second.older, size=3)
    assert (first.total, first.newer, len(third.rows), third.older) == (7, None, 1, None)
    ids = [r["id"] for page in (first, second, third) for r in page.rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    back = quarantine_page(store, query, before=second.newer, size=3)
    assert [r["id"] for r in back.rows] == [r["id"] for r in first.rows] and back.newer is None
