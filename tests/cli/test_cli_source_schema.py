"""``creditsync source-schema``: every option of a source kind as a JSON Schema an editor can use; the
walk-through's department options validate against it, a misspelt one does not."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from cli_support import invoke

REPO = Path(__file__).resolve().parents[2]


def test_the_rest_schema_validates_the_walk_through_and_refuses_a_typo() -> None:
    result = invoke("source-schema", "rest")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    options = schema["properties"]["options"]
    example = REPO / "docs" / "examples" / "urban_management" / "urban_management.yaml"
    department = yaml.safe_load(example.read_text("utf-8"))
    jsonschema.validate(department["source"]["options"], options)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**department["source"]["options"], "items_feild": "data"}, options)
    limits = schema["properties"]["limits"]["properties"]
    assert {"read_timeout_s", "page_timeout_s", "max_page_bytes"} <= set(limits)


def test_an_unknown_kind_exits_2() -> None:
    assert invoke("source-schema", "carrier_pigeon").exit_code == 2
