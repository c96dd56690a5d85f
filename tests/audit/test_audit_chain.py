"""The trail must reveal any alteration, removal or reordering, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail, verify_chain
from creditsync.store import Store
from creditsync.store.models import AuditEntry


def _fill(store: Store, count: int = 6) -> None:
    trail = AuditTrail(actor="tester")
    with store.transaction() as session:
        for n in range(count):
            trail.append(session, "record_version", department="market_supervision", category="penalty",
                         business_key=f"penalty:X:{n}", run_id="r1", n=n)


def _alter_details(session: Session) -> None:
    session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(details={"n": 99}))


def _alter_actor(session: Session) -> None:
    session.execute(update(AuditEntry).where(AuditEntry.id == 4).values(actor="intruder"))


def _remove_middle(session: Session) -> None:
    session.execute(delete(AuditEntry).where(AuditEntry.id == 3))


def _remove_last(session: Session) -> None:
    session.execute(delete(AuditEntry).where(AuditEntry.id == 6))


def _swap(session: Session) -> None:
    """Reorder: entries 2 and 3 exchange places (ids swapped, content and hashes kept)."""
    session.execute(update(AuditEntry).where(AuditEntry.id == 2).values(id=-2))
    session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(id=2))
    session.execute(update(AuditEntry).where(AuditEntry.id == -2).values(id=3))


def _rehash_one(session: Session) -> None:
    """An intruder who recomputes the altered entry's own hash still breaks its successor."""
    from creditsync.audit import entry_hash

    entry = session.get(AuditEntry, 2)
    assert entry is not None
    entry.details = {"n": 42}
    entry.hash = entry_hash(entry.prev_hash, entry)


@pytest.mark.parametrize(
    ("tamper", "bad_id", "words"),
    [
        (_alter_details, 3, "altered"),
        (_alter_actor, 4, "altered"),
        (_remove_middle, 4, "missing"),
        (_remove_last, 6, "removed"),
        (_swap, 2, "reordered"),
        (_rehash_one, 3, "does not follow"),
    ],
)
def test_tampering_is_named(store: Store, tamper: Callable[[Session], None], bad_id: int, words: str) -> None:
    _fill(store)
    with store.transaction() as session:
        tamper(session)
    with store.reader() as session:
        result = verify_chain(session)
    assert not result.ok
    assert result.entry_id == bad_id
    assert words in (result.problem or "")


def test_intact_chain_verifies(store: Store) -> None:
    _fill(store, 25)
    with store.reader() as session:
        result = verify_chain(session, chunk=7)
    assert result.ok and result.checked == 25


def test_empty_trail_is_intact(store: Store) -> None:
    with store.reader() as session:
        assert verify_chain(session).ok


def test_id_numbers_are_masked_in_details(store: Store) -> None:
    trail = AuditTrail(actor="tester")
    with store.transaction() as session:
        trail.append(session, "note", CF_XDR_ZJHM="11010519491231002X", text="证件 11010519491231002X")
    with store.reader() as session:
        raw = session.execute(text("SELECT details FROM audit_log")).scalar_one()
    assert "11010519491231002X" not in str(raw)
    assert "110105********002X" in str(raw)
