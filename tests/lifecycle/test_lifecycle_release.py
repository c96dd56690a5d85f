"""An operator's release restores what lies beneath their 终止公示: a decision the department revoked,
or gave another 文书号, while it was held (or before it was) stays off display; only a decision that
would be live without the hold is published again. Each case a real sync, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from cli_support import invoke
from pipeline_harness import Harness

from creditsync.store.models import AuditEntry, Record

BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


def two_penalties(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two penalties of legal persons, the first without the optional ID number of its legal
    representative (so that its stored copy can be sent again as it is); the second is corrected later,
    so that the department's cursor moves past the first, as its ordinary work would."""
    broken = set(harness.source.broken_ids)
    found = [r for r in harness.records("penalty")
             if r["id"] not in broken and r["status"] == "正常" and r["party_type"] == "02"]
    harness.source.update(found[0]["id"], legal_rep_id_no=None, legal_rep_id_type=None)
    return found[0], found[1]


def later_work(harness: Harness, other: dict[str, Any]) -> None:
    harness.source.update(other["id"], content=other["content"] + "（更正）")


def shown(harness: Harness, number: str) -> str:
    record = harness.record(number)
    copy = harness.client.record(str(record.platform_id)) if record.platform_id else None
    return str(copy["status"]) if copy else "absent"


def cli(*args: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output


@BOTH
def test_a_decision_revoked_while_held_stays_off_after_the_release(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    cli("withdraw", penalty["decision_no"], "--reason", "核查中")
    harness.sync()
    harness.source.update(penalty["id"], status="撤销")
    later_work(harness, other)
    harness.sync()
    record = harness.record(penalty["decision_no"])
    assert (record.state, record.withdraw_reason) == ("operator_withdrawn", "revoked")
    with harness.gateway.store.reader() as session:
        assert session.query(AuditEntry).filter_by(event="revoked_while_withdrawn",
                                                   business_key=record.business_key).count() == 1

    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert harness.record(penalty["decision_no"]).state == "withdrawn"
    assert shown(harness, penalty["decision_no"]) != "published"


@BOTH
def test_a_revocation_lifted_while_held_is_published_on_release(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    cli("withdraw", penalty["decision_no"], "--reason", "核查中")
    harness.source.update(penalty["id"], status="撤销")
    harness.sync()
    harness.source.update(penalty["id"], status="正常")  # the department takes its revocation back
    later_work(harness, other)
    harness.sync()
    assert harness.record(penalty["decision_no"]).withdraw_reason == "operator"

    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert shown(harness, penalty["decision_no"]) == "published"


@BOTH
def test_withdrawing_a_revoked_decision_and_releasing_it_leaves_it_off(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    harness.source.update(penalty["id"], status="撤销")
    later_work(harness, other)
    harness.sync()
    assert harness.record(penalty["decision_no"]).state == "withdrawn"

    cli("withdraw", penalty["decision_no"], "--reason", "投诉核查")
    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert harness.record(penalty["decision_no"]).state == "withdrawn"
    assert shown(harness, penalty["decision_no"]) != "published"


@BOTH
def test_a_decision_renumbered_while_held_is_shown_once_under_its_new_number(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    old_no = penalty["decision_no"]
    new_no = old_no.replace("号", "-1号")
    cli("withdraw", old_no, "--reason", "核查中")
    harness.sync()
    harness.source.update(penalty["id"], decision_no=new_no)
    later_work(harness, other)
    harness.sync()
    assert harness.record(new_no).state == "operator_withdrawn"  # the hold follows the decision

    for number in (old_no, new_no):  # the operator lifts the hold under either number, or both
        cli("release", number, "--reason", "核查完毕")
    harness.sync()

    assert harness.record(old_no).state == "replaced" and shown(harness, old_no) != "published"
    assert shown(harness, new_no) == "published"
    published = [r for r in harness.rows(Record) if r.document_no in (old_no, new_no)
                 and shown(harness, r.document_no) == "published"]
    assert len(published) == 1
