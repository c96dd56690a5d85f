"""``creditsync map`` reads a sample's values through the same source code as a sync: a MariaDB
``0000-00-00`` that a sync receives as empty is empty in the preview too (preview = run)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cli_support import invoke, json_lines

from creditsync.departments import load_department
from creditsync.mapping import load_mapping
from creditsync.pipeline.translate import Translator
from creditsync.simulators.departments.housing_construction import SourceDatabase, create_database
from creditsync.sources.registry import open_source
from creditsync.testing.sql_conformance import mariadb_server

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "mappings" / "housing_construction" / "license.yaml"

pytestmark = pytest.mark.integration


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceDatabase]:
    database = create_database(mariadb_server(), f"creditsync_test_{uuid.uuid4().hex[:10]}", seed=7)
    monkeypatch.setenv("AIRFLOW_CONN_HOUSING_CONSTRUCTION_SOURCE", database.connection_json())
    monkeypatch.setenv("CREDITSYNC_HOME", str(REPO))
    try:
        yield database
    finally:
        database.drop()


def exported(source: SourceDatabase, query: str) -> list[dict[str, Any]]:
    """The licence rows as a DBA exports them for the IT staff: every value as MariaDB prints it
    (``0000-00-00``, DECIMAL and DATETIME as text)."""
    engine = sa.create_engine(str(source.url))
    try:
        with engine.connect() as conn:
            columns = list(conn.execute(sa.text(f"SELECT * FROM ({query}) q WHERE 1 = 0")).keys())
            printed = ", ".join(f"CAST(q.{c} AS CHAR) AS {c}" for c in columns)
            return [dict(row._mapping) for row in conn.execute(sa.text(f"SELECT {printed} FROM ({query}) q"))]
    finally:
        engine.dispose()


def test_a_zero_date_is_empty_in_the_preview_as_in_the_sync(source: SourceDatabase, tmp_path: Path) -> None:
    config = load_department(REPO / "adapters", "housing_construction")
    stream = config.stream("license")
    with open_source(config) as adapter:
        synced = {r.key: r for r in adapter.read("license", stream.options, None)}
    assert synced["ZJXK-0007"].data["fzrq"] is None  # the sync: no decision date
    rows = exported(source, stream.options["query"])
    assert {row["xkzbh"]: row["fzrq"] for row in rows}["ZJXK-0007"] == "0000-00-00"  # the export says so
    sample = tmp_path / "licences.jsonl"
    sample.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")

    result = invoke("map", "--mapping", str(MAPPING), "--input", str(sample), "--format", "json")

    previews = {row["xkzbh"]: line for row, line in zip(rows, json_lines(result.stdout), strict=True)}
    translator = Translator("license", load_mapping(MAPPING), "sql")  # what a sync does with a record
    for key, record in synced.items():
        run = translator.translate(record.data)
        assert sorted(e["field"] for e in previews[key]["errors"]) == sorted(e.field for e in run.errors), key
        assert previews[key]["record"].keys() == run.mapped.keys(), key
    assert "XK_JDRQ" in {e["field"] for e in previews["ZJXK-0007"]["errors"]}  # missing, as in the sync
    assert "unrecognised date" not in result.stdout  # before: "0000-00-00" refused as a date
