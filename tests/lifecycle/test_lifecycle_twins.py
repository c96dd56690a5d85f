"""Two department records that give one 文书号 to different decisions ("twins"): neither is published
under it while both claim it, whichever run reads them and whatever else happens meanwhile (an edit, a
hand-over file, a person closing the entries); once the department gives one of them another number,
or revokes it, the other is published without anyone having to resolve its entry by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml
from cli_support import invoke
from pipeline_harness import Harness
from test_pipeline_file_row_keys import canonical, hand_over
from test_pipeline_hostile import platform_documents, twin

from creditsync.exceptions import FieldError
from creditsync.pipeline import pull, push, report
from creditsync.simulators.departments.health import write_drop
from creditsync.simulators.departments.health_data import Exporter
from creditsync.store.models import OutboxItem, QuarantineItem, Record

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


def held_together(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    harness.sync()
    first = harness.source.add_decision("penalty")
    second = twin(harness, first)
    harness.sync()
    assert first["decision_no"] not in harness.published_documents()
    return first, second


@BOTH
def test_closing_both_entries_by_hand_publishes_neither(harness: Harness) -> None:
    first, second = held_together(harness)
    for entry in harness.rows(QuarantineItem, QuarantineItem.resolved_at.is_(None),
                              QuarantineItem.source_key.in_([first["id"], second["id"]])):
        result = invoke("quarantine", "resolve", str(entry.id), "--reason", "已线下处理")
        assert result.exit_code == 0, result.output

    redrive_from_start(harness)

    assert platform_documents(harness)[first["decision_no"]] == 0
    assert open_entries(harness, first) == open_entries(harness, second) == 1  # held again


@BOTH
def test_an_edited_twin_stays_held_while_the_other_still_claims_the_number(harness: Harness) -> None:
    first, second = held_together(harness)

    harness.source.update(first["id"], facts=first["facts"] + "（补正）")
    harness.sync()

    assert platform_documents(harness)[first["decision_no"]] == 0
    assert open_entries(harness, first) == open_entries(harness, second) == 1


@BOTH
def test_a_twin_revoked_by_the_department_lets_the_other_be_published(harness: Harness) -> None:
    first, second = held_together(harness)

    harness.source.update(second["id"], status="撤销")
    harness.sync()
    redrive_from_start(harness)

    assert platform_documents(harness)[first["decision_no"]] == 1
    shown = harness.simulator.store.find(str(harness.record(first["decision_no"]).platform_id))
    assert shown is not None and shown["data"]["CF_SY"] == first["facts"]
    assert open_entries(harness, first) == open_entries(harness, second) == 0


@BOTH
def test_a_hand_over_file_correcting_the_decision_leaves_the_twins_entry_open(harness: Harness,
                                                                             tmp_path: Path) -> None:
    earlier = harness.valid_penalty(2)
    harness.sync()
    later = twin(harness, earlier)
    harness.sync()
    other = harness.valid_penalty(5)
    harness.source.update(other["id"], content=other["content"] + "（更正）")  # the cursor moves past
    harness.sync()

    hand_over(harness, tmp_path / "desk", canonical(harness, 2, CF_NR="罚款2000元。"))
    harness.sync()

    assert open_entries(harness, later) == 1


@BOTH
def test_a_decision_renumbered_onto_a_taken_number_leaves_its_old_number(harness: Harness) -> None:
    taken = harness.valid_penalty(2)
    fields = {k: v for k, v in taken.items() if k not in ("id", "created_at", "updated_at")}
    old_no = taken["decision_no"].replace("号", "-9号")
    moved = harness.source.add_decision("penalty", **{**fields, "decision_no": old_no,
                                                      "facts": taken["facts"] + "（另案）"})
    harness.sync()
    assert {taken["decision_no"], old_no} <= harness.published_documents()

    harness.source.update(moved["id"], decision_no=taken["decision_no"])
    harness.sync()

    old = harness.record(old_no)
    assert old.state == "replaced"  # the department took that number away
    shown = harness.simulator.store.find(str(old.platform_id)) if old.platform_id else None
    assert shown is None or shown["status"] != "published"
    record = harness.record(taken["decision_no"])
    assert (record.source_key, record.state) == (taken["id"], "published")  # the number's owner stays
    assert open_entries(harness, moved) == 1
    assert harness.count(Record, Record.source_key == moved["id"], Record.state == "published") == 0


# -- the published decision's own rows, while a twin is held against it ---------------------------------


def published_with_a_held_twin(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    earlier = harness.valid_penalty(2)
    harness.sync()
    later = twin(harness, earlier)
    harness.sync()
    assert open_entries(harness, later) == 1
    return earlier, later


@BOTH
def test_the_department_revoking_the_published_decision_takes_it_down(harness: Harness) -> None:
    earlier, later = published_with_a_held_twin(harness)

    harness.source.update(earlier["id"], status="撤销")
    harness.sync()

    record = harness.record(earlier["decision_no"])
    assert record.state == "withdrawn"
    shown = harness.simulator.store.find(str(record.platform_id))
    assert shown is not None and shown["status"] != "published"
    redrive_from_start(harness)  # the twin, read again, now claims a number nobody else holds
    assert harness.record(earlier["decision_no"]).source_key == later["id"]
    assert platform_documents(harness)[earlier["decision_no"]] == 2  # the revoked row, and the twin's


@BOTH
def test_the_published_decisions_own_correction_goes_out_past_its_twin(harness: Harness) -> None:
    earlier, later = published_with_a_held_twin(harness)
    version = harness.record(earlier["decision_no"]).version

    harness.source.update(earlier["id"], facts=earlier["facts"] + "（更正）")
    harness.sync()

    record = harness.record(earlier["decision_no"])
    assert (record.version, record.state) == (version + 1, "published")
    shown = harness.simulator.store.find(str(record.platform_id))
    assert shown is not None and shown["data"]["CF_SY"] == earlier["facts"] + "（更正）"
    assert open_entries(harness, earlier) == 0 and open_entries(harness, later) == 1


@BOTH
def test_a_hand_over_file_correcting_the_published_decision_goes_out_past_its_twin(
        harness: Harness, tmp_path: Path) -> None:
    earlier, later = published_with_a_held_twin(harness)
    version = harness.record(earlier["decision_no"]).version

    hand_over(harness, tmp_path / "desk", canonical(harness, 2, CF_NR="罚款2000元。"))

    record = harness.record(earlier["decision_no"])
    assert record.version == version + 1
    shown = harness.simulator.store.find(str(record.platform_id))
    assert shown is not None and shown["data"]["CF_NR"] == "罚款2000元。"
    assert open_entries(harness, later) == 1


@BOTH
def test_a_twin_made_the_same_as_the_decision_closes_its_entry_and_holds_nothing(harness: Harness) -> None:
    earlier, later = published_with_a_held_twin(harness)
    harness.source.update(later["id"], facts=earlier["facts"])  # the department removed the difference
    harness.sync()
    assert open_entries(harness, later) == 0
    version = harness.record(earlier["decision_no"]).version

    harness.source.update(earlier["id"], content=earlier["content"] + "（更正）")
    harness.sync()

    assert harness.record(earlier["decision_no"]).version == version + 1


@BOTH
def test_a_hand_over_file_delivered_again_without_its_duplicate_row_publishes_the_decision(
        harness: Harness, tmp_path: Path) -> None:
    decision = canonical(harness, 0)
    duplicate = {**decision, "CF_NR": decision["CF_NR"] + "（重复录入）"}
    hand_over(harness, tmp_path / "monday", decision, duplicate)
    assert harness.count(Record) == 0

    fixed = {**decision, "CF_NR": decision["CF_NR"] + "（更正）"}
    hand_over(harness, tmp_path / "tuesday", fixed)  # the same file name: the duplicate row removed

    assert [(r.document_no, r.state) for r in harness.rows(Record)] == [(decision["CF_WSH"], "published")]
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None)) == 0


@BOTH
def test_a_decision_an_operator_released_keeps_its_number_against_a_held_twin(harness: Harness) -> None:
    earlier = harness.valid_penalty(2)
    harness.sync()
    number = earlier["decision_no"]
    assert invoke("withdraw", number, "--reason", "核查中").exit_code == 0
    harness.sync()
    later = twin(harness, earlier)
    harness.sync()
    assert invoke("release", number, "--reason", "核查完毕").exit_code == 0

    harness.source.update(later["id"], facts=later["facts"] + "（补正）")  # the department edits the twin
    harness.sync()
    redrive_from_start(harness)

    assert harness.record(number).source_key == earlier["id"]
    assert open_entries(harness, later) == 1


@BOTH
def test_a_revoked_decision_read_in_an_earlier_chunk_does_not_hold_another_ids_live_one(
        harness: Harness, tmp_path: Path) -> None:
    harness.use_department_file(tmp_path, batch_size=1)  # every record its own chunk
    harness.sync()
    base = harness.valid_penalty(2)
    fields = {k: v for k, v in base.items() if k not in ("id", "created_at", "updated_at")}
    number = base["decision_no"].replace("号", "-5号")
    harness.source.add_decision("penalty", **{**fields, "decision_no": number, "status": "撤销"})
    live = harness.source.add_decision("penalty", **{**fields, "decision_no": number,
                                                     "facts": base["facts"] + "（另案）"})
    harness.sync()

    assert [(r.source_key, r.state) for r in harness.rows(Record, Record.document_no == number)] == [
        (live["id"], "published")]


def health_department(harness: Harness, tmp_path: Path, batch_size: int | None = None) -> None:
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "adapters" / "health.yaml")
                            .read_text("utf-8"))
    config["source"]["options"].update(inbox=str(tmp_path / "inbox"), settle_seconds=0)
    config["batch_size"] = batch_size or config["batch_size"]
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    (adapters / "health.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    harness.monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(adapters))


def drop_file(harness: Harness, tmp_path: Path, exporter: Exporter, rows: list[dict[str, Any]],
              day: date) -> None:
    write_drop(tmp_path / "inbox", exporter.file("penalty", "utf-8-sig", rows, day))
    ctx = harness.gateway.context(harness.gateway.department("health"))
    pull(ctx, categories=["penalty"])
    push(ctx, harness.client)
    report(ctx)


@BOTH
@pytest.mark.parametrize("order", ["revocation first", "revocation last"])
@pytest.mark.parametrize("batch_size", [None, 1], ids=["one chunk", "a chunk each"])
def test_a_file_revoking_a_decision_and_correcting_it_in_two_rows_leaves_it_off(
        harness: Harness, tmp_path: Path, order: str, batch_size: int | None) -> None:
    health_department(harness, tmp_path, batch_size)
    exporter, day = Exporter(Random(5)), date(2026, 11, 30)
    row = exporter.penalty(day)
    drop_file(harness, tmp_path, exporter, [dict(row)], day)
    revoked, other = {**row, "当前状态": "撤销"}, {**row, "违法事实": row["违法事实"] + "（补正）"}

    rows = [revoked, other] if order == "revocation first" else [other, revoked]
    drop_file(harness, tmp_path, exporter, rows, day)

    [record] = harness.rows(Record)
    shown = harness.simulator.store.find(str(record.platform_id)) if record.platform_id else None
    assert shown is None or shown["status"] != "published"
    # the correction is held; read in an earlier chunk, it went out, and the revocation takes it down
    held = 0 if batch_size and order == "revocation last" else 1
    assert harness.count(QuarantineItem, QuarantineItem.resolved_at.is_(None)) == held
    assert record.state in ("revoked", "withdrawn")



@BOTH
@pytest.mark.parametrize("read", ["later", "with the revocation"])
def test_a_duplicate_of_a_revoked_decision_is_held_and_the_revocation_stands(harness: Harness,
                                                                             read: str) -> None:
    original = harness.valid_penalty(2)
    harness.sync()
    fields = {k: v for k, v in original.items() if k not in ("id", "created_at", "updated_at")}
    duplicate = harness.source.add_decision("penalty", **fields)  # the case entered twice, identically
    harness.sync()
    number = original["decision_no"]
    items = {item.id for item in harness.rows(OutboxItem)}

    harness.source.update(original["id"], status="撤销")
    if read == "later":
        harness.sync()
        assert harness.record(number).state == "withdrawn"
    redrive_from_start(harness)  # both read again in one chunk, the duplicate first (older)
    harness.sync()

    record = harness.record(number)
    assert (record.source_key, record.state) == (original["id"], "withdrawn")
    added = sorted((item.id, item.business_key == record.business_key, item.action, item.status)
                   for item in harness.rows(OutboxItem) if item.id not in items)
    assert [(mine, action) for _, mine, action, _ in added] == [(True, "withdraw")], added  # no churn
    [entry] = harness.rows(QuarantineItem, QuarantineItem.resolved_at.is_(None),
                           QuarantineItem.source_key == duplicate["id"])
    assert original["id"] in FieldError.from_stored(entry.errors[0]).message_en  # names the revoked one

    harness.source.update(duplicate["id"], status="撤销")  # the department revokes the repeat too
    harness.sync()
    assert harness.record(number).state == "withdrawn"
    assert open_entries(harness, duplicate) == 0


@BOTH
def test_a_case_entered_twice_and_revoked_once_before_the_first_read_is_not_shown(harness: Harness) -> None:
    harness.sync()
    base = harness.valid_penalty(2)
    fields = {k: v for k, v in base.items() if k not in ("id", "created_at", "updated_at", "status")}
    number = base["decision_no"].replace("号", "-9号")
    harness.source.add_decision("penalty", **{**fields, "decision_no": number, "status": "撤销"})
    repeat = harness.source.add_decision("penalty", **{**fields, "decision_no": number, "status": "正常"})

    harness.sync()

    assert harness.rows(Record, Record.document_no == number) == []  # nothing stored, nothing shown
    assert open_entries(harness, repeat) == 1  # held, naming the revoked entry

    harness.source.update(repeat["id"], status="撤销")  # the department revokes the repeat too
    harness.sync()
    assert {r.state for r in harness.rows(Record, Record.document_no == number)} == {"revoked"}
    assert open_entries(harness, repeat) == 0


@BOTH
def test_a_case_entered_twice_and_revoked_once_read_in_two_chunks_is_not_shown(harness: Harness,
                                                                               tmp_path: Path) -> None:
    harness.use_department_file(tmp_path, batch_size=1)  # every record its own chunk
    harness.sync()
    base = harness.valid_penalty(2)
    fields = {k: v for k, v in base.items() if k not in ("id", "created_at", "updated_at", "status")}
    number = base["decision_no"].replace("号", "-9号")
    original = harness.source.add_decision("penalty", **{**fields, "decision_no": number, "status": "正常"})
    repeat = harness.source.add_decision("penalty", **{**fields, "decision_no": number, "status": "正常"})
    harness.source.update(original["id"], status="撤销")  # read after the repeat, in a chunk of its own

    harness.sync()

    [record] = harness.rows(Record, Record.document_no == number)
    assert record.source_key == original["id"] and record.state in ("revoked", "withdrawn")
    redrive_from_start(harness)  # the repeat read again: held as the revoked decision's repeat
    assert harness.record(number).state in ("revoked", "withdrawn")
    assert open_entries(harness, repeat) == 1
