"""Applying a mapping to records: sources, defaults, error collection, code lookups."""

from __future__ import annotations

import subprocess
import sys
import types
from decimal import Decimal
from typing import Any

import pytest

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.mapping import MappingSpec, custom, custom_source, parse_mapping
from creditsync.mapping.paths import resolve

SUBJECT_TYPES = {"1": "自然人", "2": "法人及非法人组织", "01": "自然人", "02": "法人及非法人组织"}


def fake_lookup(table: str, value: str) -> str:
    if table != "subject_type":
        raise KeyError(table)
    return SUBJECT_TYPES[value]


def spec_of(fields: dict[str, Any], **top: Any) -> MappingSpec:
    return parse_mapping({"version": 1, "category": "penalty", **top, "fields": fields}, "test")


EXAMPLE_FIELDS: dict[str, Any] = {
    "CF_XDR_MC": {"path": "party_name", "transforms": ["trim", "fullwidth_to_halfwidth"]},
    "CF_XDR_LB": {"path": "party_type", "transforms": [{"code": {"table": "subject_type"}}]},
    "CF_NR_FK": {"path": "fine_yuan", "transforms": ["yuan_to_wan"]},
    "CF_CFLB": {"path": "penalty_types", "transforms": [{"join": ";"}]},
    "CF_JDRQ": {"path": "decided_at", "transforms": [{"date": {"formats": ["%Y-%m-%dT%H:%M:%S", "%Y%m%d"]}}]},
    "CF_CFJG": {"const": "长清区市场监督管理局"},
    "CF_SY": {
        "concat": [{"path": "facts.summary"}, {"const": "；"}, {"path": "facts.detail"}],
        "transforms": ["trim"],
    },
    "CF_XDR_SHXYM": {"path": "credit_code", "default": "", "transforms": ["trim", "upper"]},
    "CF_YXQ": {"path": "valid_until", "default": "2099-12-31", "transforms": ["date"]},
    "CF_XDR_LB2": {"path": "kind", "transforms": [{"map": {"1": "自然人", "2": "法人及非法人组织"}}]},
}
RECORD: dict[str, Any] = {
    "decision_no": "长市监罚〔2026〕12号",
    "party_name": " 济南某某科技有限公司（ＡＢＣ） ",
    "party_type": "02",
    "fine_yuan": "2000",
    "penalty_types": ["警告", "罚款"],
    "decided_at": "2026-03-05T09:30:00",
    "facts": {"summary": "未按规定公示年报", "detail": "逾期三个月 "},
    "credit_code": " 91370102798677204a",
    "valid_until": "",
    "kind": 2,
}


def test_example_maps_a_record() -> None:
    result = spec_of(EXAMPLE_FIELDS, source_key="decision_no").apply(RECORD, code_lookup=fake_lookup)
    assert result.errors == [] and result.ok
    assert result.source_key == "长市监罚〔2026〕12号"
    assert result.data == {
        "CF_XDR_MC": "济南某某科技有限公司(ABC)",
        "CF_XDR_LB": "法人及非法人组织",
        "CF_NR_FK": Decimal("0.2"),
        "CF_CFLB": "警告;罚款",
        "CF_JDRQ": "2026-03-05",
        "CF_CFJG": "长清区市场监督管理局",
        "CF_SY": "未按规定公示年报；逾期三个月",
        "CF_XDR_SHXYM": "91370102798677204A",
        "CF_YXQ": "2099-12-31",
        "CF_XDR_LB2": "法人及非法人组织",
    }


def test_every_failing_field_is_reported_and_the_others_still_map() -> None:
    record = {**RECORD, "fine_yuan": "abc", "party_type": "9", "decided_at": "2026-02-30", "kind": "3"}
    result = spec_of(EXAMPLE_FIELDS).apply(record, code_lookup=fake_lookup)
    assert [e.field for e in result.errors] == ["CF_XDR_LB", "CF_NR_FK", "CF_JDRQ", "CF_XDR_LB2"]
    assert result.errors[1] == FieldError(
        "CF_NR_FK", "金额不是有效数字：'abc'（元→万元）", "amount is not a number: 'abc' (yuan → 10k yuan)"
    )
    assert not result.ok
    assert set(result.data) == {"CF_XDR_MC", "CF_CFLB", "CF_CFJG", "CF_SY", "CF_XDR_SHXYM", "CF_YXQ"}


def test_missing_values_are_left_out_not_errors() -> None:
    """Required checks are the schema's job: an empty record maps to the constants and defaults only."""
    result = spec_of(EXAMPLE_FIELDS, source_key="decision_no").apply({}, code_lookup=fake_lookup)
    assert result.errors == []
    assert result.data == {"CF_CFJG": "长清区市场监督管理局", "CF_XDR_SHXYM": "", "CF_YXQ": "2099-12-31"}
    assert result.source_key is None


@pytest.mark.parametrize(
    ("record", "path", "expected"),
    [
        ({"a": {"b": [{"c": 1}, {"c": 2}]}}, "a.b.1.c", 2),
        ({"a": {"b": [{"c": 1}]}}, "a.b.0.c", 1),
        ({"a": {"b": [{"c": 1}]}}, "a.b.5.c", None),
        ({"a": {"b": [{"c": 1}]}}, "a.b.x", None),
        ({"a": {"0": "key"}}, "a.0", "key"),
        ({"a": "text"}, "a.0", None),  # no indexing into strings
        ({"a": None}, "a.b", None),
        ({"a": 5}, "a.b", None),
        ({}, "a", None),
        ({"处罚决定书文号": "X"}, "处罚决定书文号", "X"),
    ],
)
def test_paths(record: dict[str, Any], path: str, expected: Any) -> None:
    assert resolve(record, path) == expected


@pytest.mark.parametrize(
    ("field", "record", "expected"),
    [
        ({"concat": [{"path": "a"}, {"const": "-"}, {"path": "b"}]}, {"a": "x", "b": "y"}, "x-y"),
        ({"concat": [{"path": "a"}, {"const": "-"}, {"path": "b", "required": False}]}, {"a": "x"}, "x-"),
        ({"concat": [{"path": "a"}, {"const": "；"}, {"path": "b"}], "separator": ""}, {"a": "x"}, "x；"),
        (
            {"concat": [{"path": "a"}, {"path": "b"}, {"path": "c"}], "separator": "；"},
            {"a": "x", "c": "z"},
            "x；z",
        ),
        ({"concat": [{"path": "a"}, {"const": "号"}]}, {"a": 12}, "12号"),
        ({"concat": [{"path": "a"}, {"const": "-"}, {"path": "b"}]}, {}, None),
        ({"first_non_empty": ["a", "b", "c"]}, {"a": " ", "b": "", "c": "z"}, "z"),
        ({"first_non_empty": ["a", "b"]}, {"a": 0, "b": "y"}, 0),  # 0 is a value, not empty
        ({"first_non_empty": ["a", "b"]}, {}, None),
        ({"collect": ["a", "b"]}, {"a": "1", "b": ""}, ["1"]),
        ({"collect": ["a", "b"]}, {"a": "1", "b": "2"}, ["1", "2"]),
        ({"collect": ["a", "b"]}, {}, None),
        ({"const": 0}, {}, 0),
        ({"const": "{{ 1 + 1 }}"}, {}, "{{ 1 + 1 }}"),  # never evaluated
        ({"path": "a", "default": "无"}, {"a": "  "}, "无"),
        ({"path": "a", "default": "无"}, {"a": []}, "无"),
        ({"path": "a", "default": "无"}, {"a": "有"}, "有"),
        (
            {"path": "a", "default": "20991231", "transforms": ["date"]},
            {},
            "2099-12-31",
        ),  # default is transformed
        ({"path": "a", "default": None}, {"a": ""}, None),
    ],
)
def test_sources_and_defaults(field: dict[str, Any], record: dict[str, Any], expected: Any) -> None:
    result = spec_of({"CF_X": field}).apply(record)
    assert result.errors == []
    assert result.data.get("CF_X") == expected


def test_concat_of_a_list_is_an_error_on_the_target_field() -> None:
    result = spec_of({"CF_SY": {"concat": [{"path": "a"}, {"const": "x"}]}}).apply({"a": ["p", "q"]})
    assert [e.field for e in result.errors] == ["CF_SY"]


@pytest.mark.parametrize(("value", "expected"), [("  X-1 ", "X-1"), (12, "12"), ("", None), (None, None)])
def test_source_key(value: Any, expected: str | None) -> None:
    spec = spec_of({"CF_WSH": {"path": "meta.id"}}, source_key="meta.id")
    assert spec.apply({"meta": {"id": value}}).source_key == expected


def test_source_key_is_reported_even_when_fields_fail() -> None:
    spec = spec_of({"CF_NR_FK": {"path": "fine", "transforms": ["yuan_to_wan"]}}, source_key="id")
    result = spec.apply({"id": "K1", "fine": "x"})
    assert result.source_key == "K1" and result.errors


# ---- code lookups ---------------------------------------------------------------------------------

CODE_FIELD = {"CF_XDR_LB": {"path": "t", "transforms": [{"code": {"table": "subject_type"}}]}}


def test_default_lookup_uses_schema_codetables(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []

    def lookup(table: str, value: str) -> str:
        seen.append((table, value))
        return "法人及非法人组织"

    module = types.ModuleType("creditsync.schema.codetables")
    module.lookup = lookup  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "creditsync.schema", types.ModuleType("creditsync.schema"))
    monkeypatch.setitem(sys.modules, "creditsync.schema.codetables", module)
    assert spec_of(CODE_FIELD).apply({"t": "02"}).data == {"CF_XDR_LB": "法人及非法人组织"}
    assert seen == [("subject_type", "02")]


def test_default_lookup_unavailable_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "creditsync.schema.codetables", None)  # import now raises ImportError
    with pytest.raises(ConfigurationError, match="code tables are unavailable"):
        spec_of(CODE_FIELD).apply({"t": "02"})


def test_no_lookup_needed_without_code_transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "creditsync.schema.codetables", None)
    assert spec_of({"CF_WSH": {"path": "a"}}).apply({"a": "X"}).data == {"CF_WSH": "X"}
    assert spec_of(CODE_FIELD).apply({}).data == {}  # nothing to look up: the import is never tried


def test_lookup_errors_become_field_errors() -> None:
    def lookup(table: str, value: str) -> str:
        raise ValueError(f"{value} unknown")

    result = spec_of(CODE_FIELD).apply({"t": "7"}, code_lookup=lookup)
    assert [e.field for e in result.errors] == ["CF_XDR_LB"]


def test_importing_the_package_does_not_import_the_schema() -> None:
    code = "import sys, creditsync.mapping; assert 'creditsync.schema' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_code_tables_lists_what_a_mapping_needs() -> None:
    spec = spec_of(
        {**CODE_FIELD, "CF_CFLB": {"path": "x", "transforms": [{"code": {"table": "penalty_type"}}]}}
    )
    assert spec.code_tables == {"subject_type", "penalty_type"}


# ---- custom sources ------------------------------------------------------------------------------


def test_custom_source_reads_the_whole_record() -> None:
    @custom_source("test_full_name")
    def full_name(record: dict[str, Any], separator: str = " ") -> str:
        return separator.join(str(record[k]) for k in ("first", "last"))

    try:
        spec = spec_of({"CF_XDR_MC": {"custom": "test_full_name", "args": {"separator": "·"}}})
        assert spec.apply({"first": "阿", "last": "凡提"}).data == {"CF_XDR_MC": "阿·凡提"}
        result = spec.apply({"first": "阿"})  # KeyError inside the function: the field fails, not the run
        assert [e.field for e in result.errors] == ["CF_XDR_MC"]
        assert "test_full_name" in result.errors[0].message_en
    finally:
        custom.unregister("source", "test_full_name")
