"""A file's rows are keyed by place (``<file name>#<row>``), and a place is not a decision: next week's
file of the same name holds other decisions in the same rows. So a row never takes down, or closes the
quarantine entry of, whatever sat in its place in an earlier file; only the decision itself (its
business key) closes what was open for it. (A department's own record id, from a key field, does link
a decision across 文书号 corrections: tests/lifecycle.)"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml
from pipeline_harness import Harness

from creditsync.pipeline import pull, push, report
from creditsync.pipeline.runner import push_file
from creditsync.pipeline.translate import translator_for
from creditsync.simulators.departments.health import write_drop
from creditsync.simulators.departments.health_data import Exporter
from creditsync.store.models import QuarantineItem, Record
from creditsync.store.states import QuarantineStage

BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
DEPARTMENT = "market_supervision"


def canonical(harness: Harness, index: int, **changes: Any) -> dict[str, Any]:
    record = translator_for(harness.context(), "penalty").translate(harness.valid_penalty(index)).record
    assert record is not None
    return {**record.to_payload(), **changes}


def hand_over(harness: Harness, folder: Path, *rows: dict[str, Any]) -> dict[str, Any]:
    """``penalties.jsonl`` (always that name, as a desk's weekly export) handed over from ``folder``."""
    folder.mkdir()
    path = folder / "penalties.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return push_file(harness.gateway, path, "penalty", DEPARTMENT)


def states(harness: Harness) -> dict[str, str]:
    return {record.document_no: record.state for record in harness.rows(Record)}


@BOTH_STORES
def test_next_weeks_file_of_the_same_name_takes_nothing_down(harness: Harness, tmp_path: Path) -> None:
    first, second = canonical(harness, 0), canonical(harness, 1)

    hand_over(harness, tmp_path / "week1", first)
    hand_over(harness, tmp_path / "week2", second)

    assert states(harness) == {first["CF_WSH"]: "published", second["CF_WSH"]: "published"}
    stats = harness.stats()
    assert (stats["records"], stats["withdrawn"]) == (2, 0)


@BOTH_STORES
def test_a_bad_row_keeps_its_entry_when_later_files_fill_its_place(harness: Harness, tmp_path: Path) -> None:
    bad = canonical(harness, 0, CF_XDR_SHXYM="91370113NOTACODE")
    hand_over(harness, tmp_path / "week1", bad)
    [entry] = harness.rows(QuarantineItem)

    hand_over(harness, tmp_path / "week2", canonical(harness, 1))  # a valid decision in its place
    hand_over(harness, tmp_path / "week3", canonical(harness, 2, CF_XDR_SHXYM="91370113STILLBAD"))

    entries = {item.id: item for item in harness.rows(QuarantineItem)}
    assert entries[entry.id].resolved_at is None  # the first bad decision still waits for a person
    assert len([item for item in entries.values() if item.resolved_at is None]) == 2


@BOTH_STORES
def test_a_corrected_file_closes_the_entry_of_the_same_decision_in_its_place(harness: Harness,
                                                                             tmp_path: Path) -> None:
    """The desk fixes the bad cell and hands the file over again: the row now holds a valid version of
    the decision its entry was about (the same 文书号, however written), so the entry is closed."""
    decision = canonical(harness, 0)
    bad = {**decision, "CF_XDR_SHXYM": "91370113NOTACODE"}
    hand_over(harness, tmp_path / "monday", bad)
    [entry] = harness.rows(QuarantineItem)
    still_bad = {**bad, "CF_XDR_SHXYM": "91370113STILLBAD",
                 "CF_WSH": decision["CF_WSH"].replace("2026", "２０２６")}  # full-width, the same 文书号
    hand_over(harness, tmp_path / "tuesday", still_bad)
    entries = {item.id: item for item in harness.rows(QuarantineItem)}
    assert entries[entry.id].resolved_at is not None  # superseded by the newer version of the row
    assert len([item for item in entries.values() if item.resolved_at is None]) == 1

    hand_over(harness, tmp_path / "wednesday", decision)

    assert all(item.resolved_at is not None for item in harness.rows(QuarantineItem))
    assert states(harness) == {decision["CF_WSH"]: "published"}


@BOTH_STORES
def test_a_corrected_file_closes_the_rejection_of_its_own_decision(harness: Harness, tmp_path: Path) -> None:
    decision = canonical(harness, 0)
    harness.validator.rejections[decision["CF_WSH"]] = "处罚内容与处罚类别不符"
    hand_over(harness, tmp_path / "week1", decision)
    [rejection] = harness.rows(QuarantineItem, QuarantineItem.stage == QuarantineStage.PLATFORM)
    assert rejection.resolved_at is None

    harness.validator.rejections.clear()
    hand_over(harness, tmp_path / "week2", canonical(harness, 1), {**decision, "CF_NR": "罚款1500元。"})

    [rejection] = harness.rows(QuarantineItem, QuarantineItem.stage == QuarantineStage.PLATFORM)
    assert rejection.resolved_at is not None and "fixed at source" in (rejection.resolution or "")
    assert set(states(harness).values()) == {"published"}


@BOTH_STORES
def test_a_dropped_file_of_last_weeks_name_takes_nothing_down(harness: Harness, tmp_path: Path) -> None:
    """The file-drop source (health): the desk exports ``penalty_weekly.csv`` every week."""
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    config = yaml.safe_load((Path(__file__).parents[2] / "adapters" / "health.yaml").read_text("utf-8"))
    config["source"]["options"].update(inbox=str(tmp_path / "inbox"), settle_seconds=0)
    (adapters / "health.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    harness.monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(adapters))
    exporter, day = Exporter(Random(5)), date(2026, 11, 30)
    documents = []
    for _week in range(2):
        drop = exporter.file("penalty", "utf-8-sig", [exporter.penalty(day)], day)
        drop.name = "penalty_weekly.csv"
        write_drop(tmp_path / "inbox", drop)
        documents.append(drop.rows[0]["决定文书号"])
        ctx = harness.gateway.context(harness.gateway.department("health"))
        assert pull(ctx, categories=["penalty"])["penalty"]["new"] == 1
        push(ctx, harness.client)
        report(ctx)

    assert {states(harness)[document] for document in documents} == {"published"}
    assert harness.stats()["withdrawn"] == 0


@BOTH_STORES
def test_a_handed_over_correction_keeps_the_decision_linked_to_its_department_id(
    harness: Harness, tmp_path: Path
) -> None:
    """The REST system delivers a decision with its own id; a desk hands over a file correcting its
    facts (same 文书号); later the system corrects the 文书号 under the same id: the old number's row must
    still come down by itself (the file row did not take the id's place)."""
    penalty = harness.valid_penalty(0)
    harness.sync()
    old_no = penalty["decision_no"]
    assert harness.record(old_no).source_key == penalty["id"]

    hand_over(harness, tmp_path / "desk", canonical(harness, 0, CF_SY=penalty["facts"] + "（补正）"))
    assert harness.record(old_no).source_key == penalty["id"]

    new_no = old_no.replace("号", "-1号")
    harness.source.update(penalty["id"], decision_no=new_no)
    harness.sync()

    assert states(harness)[old_no] == "replaced" and states(harness)[new_no] == "published"
    assert harness.stats()["records"] - harness.stats()["withdrawn"] == len(harness.published_documents())
