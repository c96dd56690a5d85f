"""Exact arithmetic (分 → 元 → 万元), conditional sources and transforms (``when``), and ``concat`` that
refuses a record when a part it needs is empty (never ``…第号``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import MappingSpec, parse_mapping


def spec_of(fields: dict[str, Any]) -> MappingSpec:
    return parse_mapping({"version": 1, "category": "penalty", "fields": fields}, "test")


def mapped(field: dict[str, Any], record: dict[str, Any]) -> tuple[Any, list[str]]:
    result = spec_of({"CF_X": field}).apply(record)
    return result.data.get("CF_X"), [e.message_en for e in result.errors]


@pytest.mark.parametrize(("transforms", "value", "expected"), [
    ([{"divide": 100}], 200050, Decimal("2000.5")),  # 分 → 元
    ([{"divide": 1000000}], "200000", Decimal("0.2")),  # 分 → 万元
    ([{"divide": 100}, "yuan_to_wan"], 200000, Decimal("0.2")),  # 分 → 元 → 万元
    ([{"multiply": 10000}], "0.35", Decimal("3500")),  # 万元 → 元
    ([{"multiply": 0.0001}], "12,345", Decimal("1.2345")),  # a YAML float means what it spells
    ([{"divide": "100"}], "1,234,500", Decimal("12345")),
    ([{"divide": 100}], "", None),  # blank: no value
    ([{"divide": 100}], None, None),
    ([{"divide": 100}], [100, 250], [Decimal("1"), Decimal("2.5")]),
])
def test_arithmetic_is_exact(transforms: list[Any], value: Any, expected: Any) -> None:
    assert mapped({"path": "a", "transforms": transforms}, {"a": value}) == (expected, [])


@pytest.mark.parametrize(("transforms", "value", "words"), [
    ([{"divide": 3}], "100", "is not exact"),  # never a rounded amount
    ([{"divide": 100}], "1,2", "not a number"),
    ([{"divide": 100}], "2000元", "not a number"),
    ([{"multiply": 100}], True, "not a number"),
])
def test_arithmetic_refuses_what_it_cannot_do_exactly(transforms: list[Any], value: Any, words: str) -> None:
    result, errors = mapped({"path": "a", "transforms": transforms}, {"a": value})
    assert result is None and len(errors) == 1 and words in errors[0]


@pytest.mark.parametrize("factor", [0, "x", True, float("inf")])
def test_a_bad_factor_is_refused_when_the_mapping_loads(factor: Any) -> None:
    with pytest.raises(ConfigurationError, match="divide"):
        spec_of({"CF_X": {"path": "a", "transforms": [{"divide": factor}]}})


# -- when ----------------------------------------------------------------------------------------------

FINED = {"path": "fine", "when": {"path": "kinds", "in": ["罚款"]}}
REVOKED = {"const": "无效", "when": {"path": "status", "in": ["注销", "撤销"]}, "default": "有效"}


@pytest.mark.parametrize(("field", "record", "expected"), [
    (REVOKED, {"status": "注销"}, "无效"),  # a conditional constant
    (REVOKED, {"status": " 撤销 "}, "无效"),  # compared as trimmed text
    (REVOKED, {"status": "正常"}, "有效"),  # otherwise the default
    ({"const": "无效", "when": {"path": "status", "equals": "注销"}}, {"status": "正常"}, None),
    (FINED, {"fine": "200", "kinds": ["警告", "罚款"]}, "200"),  # a list matches when an item does
    (FINED, {"fine": "200", "kinds": ["警告"]}, None),
    ({"path": "fine", "when": {"path": "kinds", "not_in": ["警告"]}}, {"fine": "2", "kinds": ["罚款"]}, "2"),
    ({"path": "x", "when": {"path": "n", "equals": 1}}, {"x": "y", "n": "1"}, "y"),  # 1 and "1" alike
])
def test_a_field_takes_its_source_only_when_the_condition_holds(
        field: dict[str, Any], record: dict[str, Any], expected: Any) -> None:
    assert mapped(field, record) == (expected, [])


FINE = {"path": "fine", "transforms": [{"when": {"path": "unit", "equals": "分"}, "then": [{"divide": 100}]},
                                       "yuan_to_wan"]}


@pytest.mark.parametrize(("record", "expected"), [
    ({"fine": "200000", "unit": "分"}, Decimal("0.2")),  # the transform applies
    ({"fine": "2000", "unit": "元"}, Decimal("0.2")),  # it does not
    ({"fine": "2000"}, Decimal("0.2")),
])
def test_a_transform_applies_only_when_another_field_matches(record: dict[str, Any], expected: Any) -> None:
    assert mapped(FINE, record) == (expected, [])
    # the same fields again: nothing of one record's outcome is remembered for the next
    assert spec_of({"CF_X": FINE}).apply({"fine": "200000", "unit": "分"}).data["CF_X"] == Decimal("0.2")


def test_when_in_a_default_from_sees_the_record() -> None:
    longer = {"when": {"path": "severity", "equals": "严重"}, "then": [{"offset": {"years": 3}}]}
    spec = spec_of({
        "CF_JDRQ": {"path": "decided", "transforms": ["date"]},
        "CF_YXQ": {"path": "until", "transforms": ["date"],
                   "default_from": {"field": "CF_JDRQ", "transforms": [longer]}},
    })
    assert spec.apply({"decided": "2026-05-01", "severity": "严重"}).data["CF_YXQ"] == "2029-05-01"
    assert spec.apply({"decided": "2026-05-01", "severity": "一般"}).data["CF_YXQ"] == "2026-05-01"


@pytest.mark.parametrize(("condition", "words"), [
    ({"path": "a"}, "exactly one of equals, in or not_in"),
    ({"path": "a", "equals": 1, "in": [1]}, "exactly one of equals, in or not_in"),
    ({"path": "a", "matches": "x"}, "matches"),
])
def test_a_condition_says_one_thing(condition: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        spec_of({"CF_X": {"const": "x", "when": condition}})
    with pytest.raises(ConfigurationError, match=words):
        spec_of({"CF_X": {"path": "x", "transforms": [{"when": condition, "then": ["trim"]}]}})


# -- concat ---------------------------------------------------------------------------------------------

DOCUMENT_NO = {"concat": [{"path": "word"}, {"const": "〔"}, {"path": "year"}, {"const": "〕第"},
                          {"path": "number"}, {"const": "号"}]}


@pytest.mark.parametrize(("field", "record", "expected", "error"), [
    (DOCUMENT_NO, {"word": "长综执罚", "year": "2026", "number": "7"}, "长综执罚〔2026〕第7号", None),
    (DOCUMENT_NO, {"word": "长综执罚", "year": "2026"}, None, "concat part 'number' is empty"),  # never …第号
    (DOCUMENT_NO, {}, None, None),  # no data at all: no value (the schema says if it is required)
    ({"concat": [{"path": "a"}, {"path": "b", "required": False}]}, {"a": "x"}, "x", None),
    ({"concat": [{"path": "a", "required": True}, {"path": "b"}], "separator": "；"}, {"b": "y"}, None,
     "concat part 'a' is empty"),
    ({"concat": [{"path": "a"}, {"path": "b"}], "separator": "；"}, {"b": "y"}, "y", None),  # optional
])
def test_concat_refuses_a_text_with_a_needed_part_missing(field: dict[str, Any], record: dict[str, Any],
                                                         expected: Any, error: str | None) -> None:
    value, errors = mapped(field, record)
    assert value == expected
    assert (error in errors[0]) if error else errors == []
