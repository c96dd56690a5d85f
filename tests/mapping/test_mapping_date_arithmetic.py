"""Dates the mapping computes: the offset transform and a default taken from another mapped field
(a handover sheet's "valid one year from the decision date", in YAML alone)."""

from __future__ import annotations

from typing import Any

import pytest

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import load_mapping, mapping_json_schema, parse_mapping

VALID_ONE_YEAR = """
version: 1
category: penalty
fields:
  CF_JDRQ: {path: decided, transforms: [date]}
  CF_YXQ:
    path: valid_until
    transforms: [date]
    default_from: {field: CF_JDRQ, transforms: [{offset: {years: 1, days: -1}}]}
"""


def mapped(transforms: list[Any], value: Any) -> tuple[Any, list[str]]:
    spec = parse_mapping({"version": 1, "category": "penalty",
                          "fields": {"CF_YXQ": {"path": "v", "transforms": transforms}}}, "test")
    result = spec.apply({"v": value})
    return result.data.get("CF_YXQ"), [e.message_en for e in result.errors]


@pytest.mark.parametrize(("value", "offset", "expected"), [
    ("2026-05-01", {"years": 1}, "2027-05-01"),
    ("2026-05-01", {"years": 1, "days": -1}, "2027-04-30"),
    ("2024-02-29", {"years": 1}, "2025-02-28"),  # the day is gone: the month's last day
    ("2026-01-31", {"months": 1}, "2026-02-28"),
    ("2024-01-31", {"months": 1}, "2024-02-29"),
    ("2026-03-31", {"months": -1}, "2026-02-28"),
    ("2026-12-15", {"months": 3}, "2027-03-15"),
    ("2026/03/05", {"days": 10}, "2026-03-15"),
    ("20261231", {"days": 1}, "2027-01-01"),
    ("", {"years": 1}, None),
])
def test_offset_moves_a_date_by_years_months_and_days(value: str, offset: dict[str, int],
                                                      expected: str | None) -> None:
    assert mapped([{"offset": offset}], value) == (expected, [])


@pytest.mark.parametrize("value", ["not a date", "2026-02-30", "9999-12-31"])
def test_offset_of_a_bad_or_unreachable_date_is_a_field_error(value: str) -> None:
    out, errors = mapped([{"offset": {"days": 1}}], value)
    assert out is None and len(errors) == 1


@pytest.mark.parametrize("offset", [{}, {"weeks": 1}, {"years": "one"}])
def test_offset_arguments_are_checked_when_the_mapping_loads(offset: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        mapped([{"offset": offset}], "2026-01-01")


@pytest.mark.parametrize(("record", "expected"), [
    ({"decided": "2026-05-01"}, "2027-04-30"),  # no validity given: one year from the decision
    ({"decided": "2026-05-01", "valid_until": "2026-11-01"}, "2026-11-01"),  # given: kept as is
    ({"decided": "2026/05/01", "valid_until": " "}, "2027-04-30"),
    ({}, None),  # nothing to compute from: missing, as the schema will say
])
def test_valid_one_year_from_the_decision_date_in_yaml_alone(tmp_path: Any, record: dict[str, str],
                                                             expected: str | None) -> None:
    path = tmp_path / "penalty.yaml"
    path.write_text(VALID_ONE_YEAR, encoding="utf-8")
    result = load_mapping(path).apply(record)
    assert result.errors == [] and result.data.get("CF_YXQ") == expected


def test_default_from_a_field_that_failed_stays_missing_with_one_error() -> None:
    spec = parse_mapping(_doc({"path": "valid_until", "default_from": {"field": "CF_JDRQ"}}), "test")
    result = spec.apply({"decided": "2026-02-30"})
    assert [e.field for e in result.errors] == ["CF_JDRQ"] and "CF_YXQ" not in result.data


@pytest.mark.parametrize(("yxq", "words"), [
    ({"path": "v", "default_from": {"field": "CF_GSJZQ"}}, "not another field"),
    ({"path": "v", "default_from": {"field": "CF_YXQ"}}, "not another field"),
    ({"path": "v", "default": "2099-12-31", "default_from": {"field": "CF_JDRQ"}}, "not both"),
])
def test_default_from_must_name_another_field_of_the_mapping(yxq: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        parse_mapping(_doc(yxq), "test")


def test_default_from_cannot_chain() -> None:
    doc = _doc({"path": "v", "default_from": {"field": "CF_JDRQ"}})
    doc["fields"]["CF_GSJZQ"] = {"path": "w", "default_from": {"field": "CF_YXQ"}}
    with pytest.raises(ConfigurationError, match="itself a default_from"):
        parse_mapping(doc, "test")


def test_json_schema_describes_offset_and_default_from() -> None:
    text = str(mapping_json_schema())
    assert "default_from" in text and "offset" in text and "OffsetArgs" in text


def _doc(yxq: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "category": "penalty",
            "fields": {"CF_JDRQ": {"path": "decided", "transforms": ["date"]}, "CF_YXQ": yxq}}
