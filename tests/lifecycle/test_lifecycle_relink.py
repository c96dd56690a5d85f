"""``creditsync relink``: a department that re-keys its system (new ids for old decisions) tells the
gateway which new id is which old one, and the new ids' rows update their decisions instead of being
held as second claims on their 文书号. Real syncs against the REST department simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from pipeline_harness import Harness
from test_lifecycle_twins import redrive_from_start

from creditsync.audit.events import AuditEvent
from creditsync.store.models import AuditEntry, QuarantineItem

pytestmark = pytest.mark.integration
BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


def rekeyed(harness: Harness, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``count`` published penalties, then the department's new system: new ids, one figure corrected."""
    old = [harness.valid_penalty(index) for index in range(count)]
    harness.sync()
    return [(record, harness.source.rekey(record["id"], f"N{record['id']}",
                                          facts=record["facts"] + "（系统迁移后补正）")) for record in old]


def mapping(tmp_path: Path, pairs: list[tuple[str, str]]) -> Path:
    path = tmp_path / "ids.csv"
    path.write_text("old_id,new_id\n" + "".join(f"{old},{new}\n" for old, new in pairs), "utf-8")
    return path


def relink(*args: str) -> Any:
    return invoke("relink", "market_supervision", *args, "--reason", "系统迁移，记录编号变更")


@BOTH
def test_relinked_ids_update_their_decisions_instead_of_being_held(harness: Harness, tmp_path: Path) -> None:
    moved = rekeyed(harness, 3)
    harness.sync()
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None),
                         QuarantineItem.source_key.in_([new["id"] for _, new in moved])) == 3  # held twins

    done = relink(str(mapping(tmp_path, [(old["id"], new["id"]) for old, new in moved])), "-f", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"moved": 3, "unknown": [], "refused": {}}
    redrive_from_start(harness)

    for old, new in moved:
        record = harness.record(old["decision_no"])
        assert (record.source_key, record.state, record.version) == (new["id"], "published", 2)
        assert harness.simulator.store.find(str(record.platform_id))["data"]["CF_SY"] == new["facts"]
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None),
                         QuarantineItem.source_key.in_([new["id"] for _, new in moved])) == 0
    entries = harness.rows(AuditEntry, AuditEntry.event == AuditEvent.SOURCE_RELINKED)
    assert sorted((e.details["from_source_key"], e.details["source_key"]) for e in entries) == sorted(
        (old["id"], new["id"]) for old, new in moved)


def test_a_new_id_already_naming_another_decision_is_refused(harness: Harness, tmp_path: Path) -> None:
    (old, new), _ = rekeyed(harness, 2)
    taken = harness.valid_penalty(5)
    harness.sync()

    done = relink(str(mapping(tmp_path, [(old["id"], taken["id"]), ("P999999", new["id"])])), "-f", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"moved": 0, "unknown": ["P999999"],
                                       "refused": {old["id"]: f"{taken['id']} already names another decision "
                                                              "of market_supervision"}}
    assert harness.record(old["decision_no"]).source_key == old["id"]


@pytest.mark.parametrize(("rows", "says"), [
    ([("P1", "N1"), ("P1", "N2")], "mapped twice"),
    ([("P1", "N1"), ("P2", "N1")], "both map to"),
    ([("P1", "P2"), ("P2", "P1")], "a chain or a swap"),
    ([("P1", "")], "must both be given"),
])
def test_a_mapping_that_cannot_be_meant_changes_nothing(harness: Harness, tmp_path: Path,
                                                         rows: list[tuple[str, str]], says: str) -> None:
    harness.sync()
    before = harness.count(AuditEntry)

    done = relink(str(mapping(tmp_path, rows)))

    assert done.exit_code == 2 and says in done.output, done.output
    assert harness.count(AuditEntry) == before


def test_a_case_reentered_under_a_new_id_after_its_revocation_goes_out_once_relinked(
        harness: Harness, tmp_path: Path) -> None:
    original = harness.valid_penalty(2)
    harness.sync()
    harness.source.update(original["id"], status="撤销")  # a wrong entry, voided
    harness.sync()
    fields = {k: v for k, v in original.items() if k not in ("id", "created_at", "updated_at", "status")}
    again = harness.source.add_decision("penalty", **fields, status="正常")  # and keyed in again
    harness.sync()
    assert harness.record(original["decision_no"]).state == "withdrawn"  # held: which one is meant?

    done = relink(str(mapping(tmp_path, [(original["id"], again["id"])])))
    assert done.exit_code == 0, done.output
    assert "1 record linked to the new ids; 0 old ids naming no record" in " ".join(done.output.split())
    redrive_from_start(harness)

    record = harness.record(original["decision_no"])
    assert (record.source_key, record.state) == (again["id"], "published")
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None),
                         QuarantineItem.source_key == again["id"]) == 0


def test_an_id_held_in_the_quarantine_as_another_decision_is_refused(harness: Harness,
                                                                    tmp_path: Path) -> None:
    old = harness.valid_penalty(1)
    harness.sync()
    broken = next(rid for rid in harness.source.broken_ids if rid.startswith("P")
                  and harness.count(QuarantineItem, QuarantineItem.source_key == rid,
                                    QuarantineItem.resolved_at.is_(None)))

    done = relink(str(mapping(tmp_path, [(old["id"], broken)])), "-f", "json")

    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["refused"] == {
        old["id"]: f"{broken} is held in the quarantine as another decision: resolve that first"}
    assert harness.record(old["decision_no"]).source_key == old["id"]


@BOTH
def test_a_relinked_decision_is_traced_by_its_old_id_too(harness: Harness, tmp_path: Path) -> None:
    [(old, new)] = rekeyed(harness, 1)
    assert relink(str(mapping(tmp_path, [(old["id"], new["id"])]))).exit_code == 0

    for source_id in (old["id"], new["id"]):
        said = invoke("audit", "trace", source_id)
        text = " ".join(said.output.split())
        assert said.exit_code == 0 and old["decision_no"] in text and "source_relinked" in text, text
