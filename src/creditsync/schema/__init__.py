"""Canonical models of the municipal 双公示 schema (reference §2-§7).

Categories, their fields (standard order), keys and cross-field rules are YAML data in ``categories/``;
code tables are YAML data in ``codes/``. Models store code-table TEXT values (``法人及非法人组织``,
``罚款``); inputs may use the text, an alias or a code.

    result = validate_record("penalty", row)
    if result.ok:
        outbox.add(result.record.business_key(), result.record.to_payload())
    else:
        quarantine(row, result.errors)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from creditsync.schema.catalogue import CATEGORIES, field_codes, field_titles, get_category
    from creditsync.schema.category import CategorySpec, KeyFields
    from creditsync.schema.codetables import code_of, lookup, lookup_many
    from creditsync.schema.record import CanonicalRecord, format_decimal
    from creditsync.schema.validation import (
        RecordValidator,
        ValidationResult,
        errors_from_validation,
        record_validator,
        validate_record,
    )
    from creditsync.schema.values import LONG_TERM, FieldDefinition, shanghai_today

# Each name from its module on first use: importing the package (or a light module of it, such as
# document_no) does not load every category file and build the models (~0.3 CPU-s; benchmarks/
# RESULTS.md, CLI start-up).
_MODULES = {"CategorySpec": "category", "KeyFields": "category", "code_of": "codetables",
            "lookup": "codetables", "lookup_many": "codetables", "CanonicalRecord": "record",
            "format_decimal": "record", "LONG_TERM": "values", "FieldDefinition": "values",
            "shanghai_today": "values"}
_MODULES |= dict.fromkeys(("CATEGORIES", "field_codes", "field_titles", "get_category"), "catalogue")
_MODULES |= dict.fromkeys(("RecordValidator", "ValidationResult", "errors_from_validation",
                           "record_validator", "validate_record"), "validation")


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CATEGORIES",
    "LONG_TERM",
    "CanonicalRecord",
    "CategorySpec",
    "FieldDefinition",
    "KeyFields",
    "RecordValidator",
    "ValidationResult",
    "code_of",
    "errors_from_validation",
    "field_codes",
    "field_titles",
    "format_decimal",
    "get_category",
    "lookup",
    "lookup_many",
    "record_validator",
    "shanghai_today",
    "validate_record",
]
