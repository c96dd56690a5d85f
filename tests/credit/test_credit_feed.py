"""The feed pulled page by page: every event kept as a version, the current pointer on the newest event
of each entry and subject (several events of one entry in one page included), one audited pull per page,
nothing read twice; a malformed event stops the pull before anything of its page is stored."""

from __future__ import annotations

import pytest
from credit_support import admin, feed_client, place
from sqlalchemy import func, select

from creditsync.audit import AuditTrail
from creditsync.credit.feed import pull
from creditsync.delivery.errors import PlatformProtocolError
from creditsync.schema.identifiers import make_uscc
from creditsync.simulators.platform import RunningSimulator
from creditsync.store import Store
from creditsync.store.credit_models import CreditGradeCurrent, CreditListCurrent, CreditListVersion
from creditsync.store.models import AuditEntry


def test_pages_versions_and_current_pointers(store: Store, platform: RunningSimulator) -> None:
    subjects = [make_uscc(f"91370112MA{n:06d}X") for n in range(5)]
    entries = [place(platform, s, ["CJ01"]) for s in subjects]
    admin(platform, f"lists/{entries[1]['entry_id']}/repair", {"decision_no": "修1"})
    admin(platform, f"lists/{entries[2]['entry_id']}/remove", {"reason": "期满"})
    for grade in ("B", "C"):
        admin(platform, "grades", {"subject_id": subjects[0], "grade": grade})

    lists = pull(store, feed_client(platform), "lists", audit=AuditTrail("scheduler"), page_size=3)
    grades = pull(store, feed_client(platform), "grades", audit=AuditTrail("scheduler"), page_size=3)

    assert (lists.received, lists.pages, grades.received, grades.pages) == (7, 3, 2, 1)
    with store.reader() as session:
        statuses = dict(session.execute(select(CreditListCurrent.entry_id, CreditListCurrent.status)).all())
        versions = session.scalar(select(func.count()).select_from(CreditListVersion))
        current_grades = session.scalars(select(CreditGradeCurrent.grade)).all()
        pulls = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.event == "credit_feed_pulled"))
    assert statuses == {entries[0]["entry_id"]: "listed", entries[1]["entry_id"]: "repaired",
                        entries[2]["entry_id"]: "removed", entries[3]["entry_id"]: "listed",
                        entries[4]["entry_id"]: "listed"}
    assert versions == 7 and current_grades == ["C"] and pulls == 4
    assert pull(store, feed_client(platform), "lists").received == 0


def test_a_malformed_event_stores_nothing_of_its_page(store: Store, platform: RunningSimulator) -> None:
    place(platform, make_uscc("91370112MA000001X"), ["CJ01"])
    platform.simulator.credit._list_events[0]["status"] = "maybe"  # the platform sends garbage
    with pytest.raises(PlatformProtocolError, match="malformed lists event"):
        pull(store, feed_client(platform), "lists")
    with store.reader() as session:
        assert session.scalar(select(func.count()).select_from(CreditListVersion)) == 0
