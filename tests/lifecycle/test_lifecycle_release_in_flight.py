"""An operator's hold remembers what lies beneath it while its withdrawal is still on its way to the
platform (state ``withdrawing``): a decision the department revoked or renumbered meanwhile stays off
display after the release. Each case a real sync, on SQLite and PostgreSQL; ``--queue-only`` and ``pull``
leave the withdrawal unsent, as a platform down until the next run would. (A late acceptance sending
the withdrawal again: test_lifecycle_transitions.)"""

from __future__ import annotations

import pytest
from pipeline_harness import Harness
from test_lifecycle_release import cli, later_work, shown, two_penalties

from creditsync.pipeline import pull
from creditsync.store.models import Record

BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


@BOTH
def test_a_revocation_before_the_withdrawal_is_confirmed_is_remembered(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    cli("withdraw", penalty["decision_no"], "--reason", "核查中", "--queue-only")
    assert harness.record(penalty["decision_no"]).state == "withdrawing"
    harness.source.update(penalty["id"], status="撤销")
    later_work(harness, other)
    pull(harness.context())
    record = harness.record(penalty["decision_no"])
    assert (record.state, record.withdraw_reason) == ("withdrawing", "operator:revoked")
    harness.sync()  # the withdrawal is confirmed
    record = harness.record(penalty["decision_no"])
    assert (record.state, record.withdraw_reason) == ("operator_withdrawn", "revoked")

    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert harness.record(penalty["decision_no"]).state == "withdrawn"
    assert shown(harness, penalty["decision_no"]) != "published"


@BOTH
def test_a_revocation_lifted_before_the_withdrawal_is_confirmed_is_published_on_release(
        harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    cli("withdraw", penalty["decision_no"], "--reason", "核查中", "--queue-only")
    harness.source.update(penalty["id"], status="撤销")
    pull(harness.context())
    harness.source.update(penalty["id"], status="正常")
    later_work(harness, other)
    pull(harness.context())
    assert harness.record(penalty["decision_no"]).withdraw_reason == "operator"
    harness.sync()

    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert shown(harness, penalty["decision_no"]) == "published"


@BOTH
def test_an_operator_withdrawing_a_revocation_in_flight_leaves_it_revoked_on_release(
        harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    harness.source.update(penalty["id"], status="撤销")
    later_work(harness, other)
    pull(harness.context())
    assert harness.record(penalty["decision_no"]).state == "withdrawing"
    cli("withdraw", penalty["decision_no"], "--reason", "投诉核查", "--queue-only")
    harness.sync()
    assert harness.record(penalty["decision_no"]).state == "operator_withdrawn"

    cli("release", penalty["decision_no"], "--reason", "核查完毕")
    harness.sync()

    assert harness.record(penalty["decision_no"]).state == "withdrawn"
    assert shown(harness, penalty["decision_no"]) != "published"


@BOTH
def test_a_renumbering_before_the_withdrawal_is_confirmed_leaves_one_row(harness: Harness) -> None:
    penalty, other = two_penalties(harness)
    harness.sync()
    old_no = penalty["decision_no"]
    new_no = old_no.replace("号", "-1号")
    cli("withdraw", old_no, "--reason", "核查中", "--queue-only")
    harness.source.update(penalty["id"], decision_no=new_no)
    later_work(harness, other)
    harness.sync()
    assert harness.record(new_no).state == "operator_withdrawn"

    for number in (old_no, new_no):
        cli("release", number, "--reason", "核查完毕")
    harness.sync()

    assert harness.record(old_no).state == "replaced" and shown(harness, old_no) != "published"
    published = [r for r in harness.rows(Record) if r.document_no in (old_no, new_no)
                 and shown(harness, r.document_no) == "published"]
    assert [r.document_no for r in published] == [new_no]
