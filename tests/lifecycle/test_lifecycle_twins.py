"""Two department records that give one 文书号 to different decisions ("twins"): neither is published
under it while both claim it, whichever run reads them; once the department gives one of them another
number, the other is published without anyone having to resolve its entry by hand."""

from __future__ import annotations

from typing import Any

import pytest
from cli_support import invoke
from pipeline_harness import Harness
from test_pipeline_hostile import platform_documents, twin

from creditsync.store.models import QuarantineItem

pytestmark = pytest.mark.integration
BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


def open_entries(harness: Harness, record: dict[str, Any]) -> int:
    return harness.count(QuarantineItem, QuarantineItem.source_key == record["id"],
                         QuarantineItem.resolved_at.is_(None))


def redrive_from_start(harness: Harness) -> None:
    result = invoke("quarantine", "redrive", "market_supervision", "--from-start", "--reason", "文书号已更正")
    assert result.exit_code == 0, result.output
    harness.sync()


@BOTH
def test_a_twin_renumbered_by_the_department_lets_the_other_be_published(harness: Harness) -> None:
    harness.sync()
    first = harness.source.add_decision("penalty")
    second = twin(harness, first)
    harness.sync()
    assert first["decision_no"] not in harness.published_documents()
    renumbered = first["decision_no"].replace("号", "-1号")

    harness.source.update(second["id"], decision_no=renumbered)
    harness.sync()
    redrive_from_start(harness)

    assert harness.published_documents() >= {first["decision_no"], renumbered}
    assert platform_documents(harness)[first["decision_no"]] == 1
    assert harness.record(first["decision_no"]).source_key == first["id"]
    assert open_entries(harness, first) == open_entries(harness, second) == 0


@BOTH
def test_a_twin_stays_held_while_the_other_still_claims_the_number(harness: Harness) -> None:
    harness.sync()
    first = harness.source.add_decision("penalty")
    twin(harness, first)
    harness.sync()

    redrive_from_start(harness)

    assert first["decision_no"] not in harness.published_documents()
    assert platform_documents(harness)[first["decision_no"]] == 0


@BOTH
def test_a_twin_in_a_later_run_does_not_overwrite_the_published_decision(harness: Harness) -> None:
    earlier = harness.valid_penalty(2)
    harness.sync()
    record = harness.record(earlier["decision_no"])

    later = twin(harness, earlier)  # another department record, the same 文书号, other content
    harness.sync()

    again = harness.record(earlier["decision_no"])
    assert (again.source_key, again.version, again.state) == (earlier["id"], record.version, "published")
    shown = harness.simulator.store.find(str(again.platform_id))
    assert shown is not None and shown["data"]["CF_SY"] == earlier["facts"]
    assert platform_documents(harness)[earlier["decision_no"]] == 1
    assert open_entries(harness, later) == 1

    harness.sync()  # read again unchanged: still held
    assert open_entries(harness, later) == 1
    assert harness.record(earlier["decision_no"]).version == record.version


@BOTH
def test_a_twin_a_person_lets_through_corrects_the_decision(harness: Harness) -> None:
    """The department re-keyed its system: its new id of a decision is no twin, and a person says so by
    closing the entry; the next read publishes it as the decision's correction, on the same row, even
    where the old id is read with it."""
    earlier = harness.valid_penalty(2)
    harness.sync()
    platform_id = harness.record(earlier["decision_no"]).platform_id
    later = twin(harness, earlier)
    harness.sync()
    [entry] = harness.rows(QuarantineItem, QuarantineItem.source_key == later["id"])

    result = invoke("quarantine", "resolve", str(entry.id), "--reason", "部门系统更换了记录编号")
    assert result.exit_code == 0, result.output
    redrive_from_start(harness)

    record = harness.record(earlier["decision_no"])
    assert (record.source_key, record.state, record.platform_id) == (later["id"], "published", platform_id)
    shown = harness.simulator.store.find(str(platform_id))
    assert shown is not None and shown["data"]["CF_SY"] == later["facts"]
    assert platform_documents(harness)[earlier["decision_no"]] == 1
    assert open_entries(harness, earlier) == 1  # the old id, still there, now claims another's number
