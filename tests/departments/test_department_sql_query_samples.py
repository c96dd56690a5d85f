"""A SQL department whose stream is a query joining two tables passes the conformance suite with no
Python: the query runs on the sample tables under tests/fixtures/<department>/tables/."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditsync.testing import DepartmentConformance

pytestmark = pytest.mark.integration


class TestQueryDemo(DepartmentConformance):
    department = "query_demo"
    project_root = Path(__file__).with_name("sql_query_project")
    expected_invalid = frozenset({"S0004"})


def test_without_sample_tables_a_query_streams_sample_stands_for_its_result(tmp_path: Path) -> None:
    from creditsync.departments import load_department
    from creditsync.testing import sample_source

    project = Path(__file__).with_name("sql_query_project")
    config = load_department(project / "adapters", "query_demo")
    samples = tmp_path / "samples"
    samples.mkdir()
    rows = (project / "tests" / "fixtures" / "query_demo" / "tables" / "ajxx.jsonl").read_text("utf-8")
    (samples / "penalty.jsonl").write_text(rows, encoding="utf-8")
    live = sample_source(config, samples, tmp_path / "work")
    assert live.stream_options["penalty"] == {"table": "sample_penalty", "query": None}
