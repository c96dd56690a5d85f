"""``creditsync schema CATEGORY`` and docs/schema.md, generated from the category files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.cli.schema_cmds import REGENERATE, schema_markdown
from creditsync.schema import CATEGORIES

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
runner = CliRunner()


def test_schema_json_lists_the_penalty_fields_in_standard_order() -> None:
    result = runner.invoke(app, ["schema", "penalty", "--format", "json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.stdout)
    assert (described["category"], described["name"]) == ("penalty", "行政处罚")
    fields = {f["code"]: f for f in described["fields"]}
    assert fields["CF_WSH"] == {"code": "CF_WSH", "name": "行政处罚决定书文号",
                                "name_en": "penalty decision document number", "required": True,
                                "requirement": "required", "type": "C(128)"}
    assert fields["CF_JDRQ"]["type"] == "date"
    assert fields["CF_CFLB"]["type"] == "codes: penalty_type"
    assert fields["CF_GSJZQ"]["required"] is False
    assert [f["code"] for f in described["fields"]] == CATEGORIES["penalty"].codes


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_schema_table_names_every_field(category: str) -> None:
    result = runner.invoke(app, ["schema", category], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for code in CATEGORIES[category].codes:
        assert code in result.stdout


@pytest.mark.parametrize("args", [["schema", "penalties"], ["schema"]])
def test_schema_without_a_known_category_is_a_usage_error(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "penalty" in result.output


def test_docs_schema_md_matches_the_category_files() -> None:
    assert DOC.read_text(encoding="utf-8") == schema_markdown(), f"docs/schema.md is stale: run {REGENERATE}"


def test_schema_markdown_from_the_command_is_the_document() -> None:
    result = runner.invoke(app, ["schema", "--format", "markdown"])
    assert result.exit_code == 0
    assert result.stdout == DOC.read_text(encoding="utf-8")
