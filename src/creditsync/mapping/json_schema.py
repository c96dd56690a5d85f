"""JSON Schema of the mapping language, for editors (VS Code YAML: ``# yaml-language-server: $schema=…``)."""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from creditsync.mapping.categories import category_prefixes
from creditsync.mapping.document import CURRENT_VERSION, MappingDocument

SCHEMA_ID = f"https://creditsync.local/schemas/mapping-v{CURRENT_VERSION}.json"


def mapping_json_schema() -> dict[str, Any]:
    """The schema of a version-1 mapping file, generated from the pydantic models (never hand-edited)."""
    schema = MappingDocument.model_json_schema(mode="validation")
    # The models keep field codes as pattern-keyed properties; anything else in `fields` is a typo.
    schema["properties"]["fields"]["additionalProperties"] = False
    _list_categories(schema["properties"]["category"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": f"CreditSync mapping, version {CURRENT_VERSION} (数据映射文件)",
    }


def _list_categories(category: dict[str, Any]) -> None:
    """Editors complete the category names the schema package knows (read when the schema is made)."""
    known = category_prefixes()
    for branch in category.get("anyOf", []):
        if known is not None and branch.get("type") == "string":
            branch["enum"] = list(known)


def write_json_schema(path: str | PathLike[str]) -> Path:
    """Write :func:`mapping_json_schema` as UTF-8 JSON; returns the path written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(mapping_json_schema(), ensure_ascii=False, indent=2, sort_keys=True)
    target.write_text(text + "\n", encoding="utf-8")
    return target
