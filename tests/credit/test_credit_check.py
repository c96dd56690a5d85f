"""The credit loop's Done-when: a subject placed on the list at the platform is returned by the check with
its matter's measures after one feed pull, and no longer after its repair; the check and the list
versions it saw are in the audit trail; a past check replays from the versions kept."""

from __future__ import annotations

import json

import pytest
from credit_support import PERSON, REPO, USCC, admin, feed_client, place
from sqlalchemy import select

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.audit.verify import verify_chain
from creditsync.credit.check import CheckRequest, check, replay, stored_check
from creditsync.credit.feed import pull_all
from creditsync.credit.measures import load_catalogue
from creditsync.credit.subjects import Subject
from creditsync.exceptions import InvalidRequest
from creditsync.simulators.platform import RunningSimulator
from creditsync.store import Store
from creditsync.store.credit_models import CreditListVersion
from creditsync.store.models import AuditEntry

CATALOGUE = load_catalogue(REPO)
AUDIT = AuditTrail("svc_market")


def _check(store: Store, subject: str, matter: str = "SC-XK-001") -> dict:  # type: ignore[type-arg]
    return check(store, CATALOGUE, CheckRequest(subject, matter, "market_supervision"), AUDIT)


def test_listed_then_repaired(store: Store, platform: RunningSimulator) -> None:
    entry = place(platform, USCC, ["CJ01", "CJ06", "CJ07"])
    admin(platform, "grades", {"subject_id": USCC, "grade": "D", "graded_on": "2026-11-01"})
    place(platform, USCC, ["ZD01"], list_type="watch", end_date="2026-01-31")

    pulled = pull_all(store, feed_client(platform), AuditTrail("scheduler"))
    assert [(r.feed, r.received) for r in pulled] == [("lists", 2), ("grades", 1)]

    listed = _check(store, USCC)
    assert listed["listed"] is True
    assert [m["code"] for m in listed["measures"]] == ["CJ06", "CJ07"]  # CJ01 is not this matter's
    assert [e["entry_id"] for e in listed["entries"]] == [entry["entry_id"]]  # the watch entry has ended
    assert listed["grade"]["grade"] == "D"
    tender = _check(store, USCC, "SC-ZTB-001")
    assert [m["code"] for m in tender["measures"]] == ["CJ01"]

    admin(platform, f"lists/{entry['entry_id']}/repair",
          {"decision_no": "济信修〔2026〕9号", "reason": "已履行"})
    again = pull_all(store, feed_client(platform))
    assert [r.received for r in again] == [1, 0]  # only what is new
    repaired = _check(store, USCC)
    assert repaired["listed"] is False and repaired["measures"] == []
    assert repaired["grade"]["grade"] == "D"

    with store.reader() as session:
        versions = session.scalars(select(CreditListVersion).where(
            CreditListVersion.entry_id == entry["entry_id"]).order_by(CreditListVersion.id)).all()
        checks = session.scalars(select(AuditEntry).where(
            AuditEntry.event == str(AuditEvent.CREDIT_CHECKED)).order_by(AuditEntry.id)).all()
        pulls = session.scalars(select(AuditEntry).where(
            AuditEntry.event == str(AuditEvent.CREDIT_FEED_PULLED))).all()
    assert [v.status for v in versions] == ["listed", "repaired"]  # every version kept
    assert [c.details["check_id"] for c in checks] == [listed["check_id"], tender["check_id"],
                                                        repaired["check_id"]]
    assert checks[0].actor == "svc_market" and checks[0].department == "market_supervision"
    assert checks[0].details["list_versions"] == listed["list_versions"]
    assert versions[0].id in checks[0].details["list_versions"]
    assert versions[1].id in checks[2].details["list_versions"]
    assert checks[0].details["measures"] == ["CJ06", "CJ07"] and checks[0].details["listed"] is True
    assert len(pulls) == 3
    with store.reader() as session:
        assert verify_chain(session).ok

    # what the gateway knew when the first check was made
    first = stored_check(store, listed["check_id"])
    assert first is not None
    then = replay(store, CATALOGUE, Subject.of(USCC), "SC-XK-001", first.checked_at)
    assert then["listed"] is True and then["list_versions"] == listed["list_versions"]
    assert replay(store, CATALOGUE, Subject.of(USCC), "SC-XK-001", first.checked_at.replace(year=2025))[
        "listed"] is False


def test_a_persons_id_number_is_masked_in_the_store_and_the_trail(store: Store,
                                                                   platform: RunningSimulator) -> None:
    place(platform, PERSON, ["CJ06"], subject_name="张三")
    pull_all(store, feed_client(platform))
    result = _check(store, PERSON)
    assert result["listed"] and result["subject"] == "370102********1231"
    with store.reader() as session:
        stored = json.dumps([dict(r._mapping) for r in session.execute(select(
            AuditEntry.details)).all()] + [str(v.subject_masked) for v in session.scalars(
                select(CreditListVersion))], ensure_ascii=False, default=str)
    assert PERSON not in stored and "370102********1231" in stored


def test_an_unknown_matter_or_no_subject_is_refused(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="matter"):
        _check(store, USCC, "NO-SUCH")
    with pytest.raises(InvalidRequest, match="subject"):
        _check(store, " ")
