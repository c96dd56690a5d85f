"""The B1 benchmark (mapping + validation against the plain-pydantic floor) runs at its quick size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "map_validate.py"


def test_map_validate_runs_small_and_reports_every_measure_against_the_floor() -> None:
    spec = importlib.util.spec_from_file_location("bench_map_validate", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.collect(list(module.QUICK_ARGS))
    measures = [row["measure"] for row in rows]
    assert measures[:4] == ["floor", "mapping", "validation", "whole"]
    assert all(float(row["µs/record (median)"]) > 0 for row in rows[:4])
    assert rows[0]["records"] > 0 and rows[3]["records"] == 400
    ratio = float(rows[-1]["floor ÷ measure"])
    assert 0 < ratio == float(rows[3]["floor ÷ measure"])
    assert "of 400 records valid" in measures[-1]
