"""``creditsync map``: dry-run a department's mapping on a raw sample of its own records."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke, json_lines, write_rows
from pipeline_harness import REPO, SEED, leaked

from creditsync.privacy import mask_id
from creditsync.simulators.departments.market_supervision_data import BROKEN
from creditsync.simulators.departments.market_supervision_store import DecisionStore

MAPPING = REPO / "mappings" / "market_supervision" / "penalty.yaml"
BROKEN_FIELDS = {"P000008": "CF_XDR_SHXYM", "P000020": "CF_XDR_MC", "P000032": "CF_NR_FK"}


@pytest.fixture(scope="module")
def raw_penalties() -> list[dict[str, Any]]:
    """What the department's system exports: its own field names, a few records broken."""
    return DecisionStore(SEED, penalties=60, licenses=0, today=date.today()).records("penalty")


def id_numbers(rows: list[dict[str, Any]]) -> set[str]:
    return {str(r[k]) for r in rows for k in ("id_no", "legal_rep_id_no") if r.get(k)}


def map_sample(path: Path, *extra: str) -> Any:
    return invoke("map", "--mapping", str(MAPPING), "--input", str(path), *extra)


def test_a_sample_maps_with_id_numbers_masked_and_errors_for_the_broken_ones(
    tmp_path: Path, raw_penalties: list[dict[str, Any]]
) -> None:
    result = map_sample(write_rows(tmp_path / "sample.jsonl", raw_penalties), "--format", "json")

    assert result.exit_code == 1
    lines = json_lines(result.stdout)
    assert len(lines) == len(raw_penalties)
    by_id = {row["id"]: line for row, line in zip(raw_penalties, lines, strict=True)}
    for record_id, field in BROKEN_FIELDS.items():
        assert not by_id[record_id]["valid"]
        assert [e["field"] for e in by_id[record_id]["errors"]] == [field]
    good = [(row, line) for row, line in zip(raw_penalties, lines, strict=True) if row["id"] not in BROKEN]
    assert all(line["valid"] and not line["errors"] for _, line in good)
    people = [(row, line) for row, line in good if row["id_no"]]
    assert people, "the sample must hold natural persons"
    for row, line in people:
        assert line["record"]["CF_XDR_ZJHM"] == mask_id(row["id_no"])
        assert line["record"]["CF_XDR_LB"] == "自然人"
    assert leaked(id_numbers(raw_penalties), result.output) == []


def test_a_clean_sample_exits_0_and_the_table_is_masked_too(
    tmp_path: Path, raw_penalties: list[dict[str, Any]]
) -> None:
    clean = [r for r in raw_penalties if r["id"] not in BROKEN][:12]
    result = map_sample(write_rows(tmp_path / "clean.jsonl", clean))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok") >= len(clean)
    assert "CF_CFJGDM = 11370113004325179R" in result.stdout
    assert leaked(id_numbers(clean), result.output) == []


def test_an_id_number_in_the_wrong_column_is_not_echoed(
    tmp_path: Path, raw_penalties: list[dict[str, Any]]
) -> None:
    person = next(r for r in raw_penalties if r["id_no"] and r["id"] not in BROKEN)
    shifted = {**person, "decided_at": person["id_no"]}  # a spreadsheet column slipped by one
    for extra in (["--format", "json"], []):
        result = map_sample(write_rows(tmp_path / "shifted.jsonl", [shifted]), *extra)
        assert result.exit_code == 1
        assert "CF_JDRQ" in result.stdout
        assert leaked({person["id_no"]}, result.output) == []


def test_a_missing_mapping_file_is_a_usage_error(tmp_path: Path) -> None:
    sample = write_rows(tmp_path / "sample.jsonl", [{"id": "P1"}])
    result = invoke("map", "--mapping", str(tmp_path / "nope.yaml"), "--input", str(sample))
    assert result.exit_code == 2
