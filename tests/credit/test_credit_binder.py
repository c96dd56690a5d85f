"""Checks answered without their audit entry (as the api-server answers them) are bound into the trail by
the binder a moment later, in one batch, each under its own caller's name, and the chain verifies."""

from __future__ import annotations

import time

import pytest
from credit_support import REPO, USCC

from creditsync.audit import AuditTrail
from creditsync.audit.verify import verify_chain
from creditsync.credit import binder as binder_module
from creditsync.credit.binder import CheckBinder
from creditsync.credit.check import CheckRequest, bind_checks, check
from creditsync.credit.measures import load_catalogue
from creditsync.store import Store
from creditsync.store.credit_models import CreditCheck
from creditsync.store.models import AuditEntry


def test_the_binder_appends_the_entries_of_answered_checks(store: Store) -> None:
    catalogue = load_catalogue(REPO)
    answers = [check(store, catalogue, CheckRequest(USCC, "SC-XK-001", "market_supervision"),
                     AuditTrail(f"svc_{n}"), bind=False) for n in range(5)]
    assert all(a["audit_entry_id"] is None for a in answers)

    CheckBinder(lambda: store).kick()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with store.reader() as session:
            rows = session.query(CreditCheck).filter(CreditCheck.audit_entry_id.is_(None)).count()
        if rows == 0:
            break
        time.sleep(0.1)  # the binder works in its own thread
    with store.reader() as session:
        entries = session.query(AuditEntry).filter(AuditEntry.event == "credit_checked").order_by(
            AuditEntry.id).all()
        assert verify_chain(session).ok
    assert [e.details["check_id"] for e in entries] == [a["check_id"] for a in answers]
    assert [e.actor for e in entries] == [f"svc_{n}" for n in range(5)]


def test_the_api_servers_binder_binds_the_checks_handed_to_it_by_their_id(store: Store) -> None:
    catalogue = load_catalogue(REPO)
    first, second, third = (check(store, catalogue, CheckRequest(USCC, "SC-XK-001", "market_supervision"),
                                  AuditTrail(f"svc_{n}"), bind=False)["check_id"] for n in range(3))
    assert list(bind_checks(store, AuditTrail("test"), ids=[second])) == [second]
    binder = CheckBinder(lambda: store)
    binder.kick(third)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _unbound(store) != {first}:
        time.sleep(0.1)  # the binder works in its own thread
    assert _unbound(store) == {first}  # not handed over: the DAG's sweep (or a kick without an id) binds it
    assert list(bind_checks(store, AuditTrail("test"))) == [first]
    with store.reader() as session:
        assert verify_chain(session).ok


def _unbound(store: Store) -> set[str]:
    with store.reader() as session:
        return {c.id for c in session.query(CreditCheck).filter(CreditCheck.audit_entry_id.is_(None))}


def test_checks_answered_in_the_same_moment_are_bound_in_one_batch(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's cost is mostly fixed (the chain head's lock, the lookup, a commit): the pause after a
    wake-up must not end at the next check's kick, or the binder binds a check or two at a time."""
    catalogue = load_catalogue(REPO)
    batches: list[set[str]] = []

    def counted(store_: Store, audit: AuditTrail, ids: set[str] | None = None) -> dict[str, int]:
        batches.append(set(ids or ()))
        return bind_checks(store_, audit, ids=ids)

    monkeypatch.setattr(binder_module, "bind_checks", counted)
    binder = CheckBinder(lambda: store)
    answered = []
    for n in range(12):  # a check every 20 ms, as an approval office at 50 checks a second
        answered.append(check(store, catalogue, CheckRequest(USCC, "SC-XK-001", "market_supervision"),
                              AuditTrail(f"svc_{n}"), bind=False)["check_id"])
        binder.kick(answered[-1])
        time.sleep(0.02)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _unbound(store):
        time.sleep(0.1)
    assert not _unbound(store)
    assert set().union(*batches) == set(answered)
    assert len(batches) <= 2, [len(batch) for batch in batches]
