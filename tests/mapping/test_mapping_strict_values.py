"""Hostile source values the mapping must refuse or read exactly, named after the hole each guards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from creditsync.exceptions import FieldError
from creditsync.mapping import parse_mapping


def run(transforms: list[Any], value: Any, field: str = "CF_NR_FK") -> tuple[Any, list[FieldError]]:
    spec = parse_mapping(
        {"version": 1, "category": "penalty", "fields": {field: {"path": "v", "transforms": transforms}}},
        "test",
    )
    result = spec.apply({"v": value})
    return result.data.get(field), result.errors


@pytest.mark.parametrize(
    ("value", "wan"),
    [
        ("1,234.5", Decimal("0.12345")),
        ("2,000", Decimal("0.2")),
        ("12,345,678", Decimal("1234.5678")),
        ("2000", Decimal("0.2")),
    ],
)
def test_yuan_to_wan_reads_thousands_separators_in_groups_of_three(value: str, wan: Decimal) -> None:
    assert run(["yuan_to_wan"], value) == (wan, [])


@pytest.mark.parametrize("value", ["1,2", "1,2,3,4", "12,34", "1,234,56", "1_000", "1e3", "١٢", "２,０００"])
def test_yuan_to_wan_refuses_loose_numbers(value: str) -> None:
    out, errors = run(["yuan_to_wan"], value)
    assert out is None
    assert [e.field for e in errors] == ["CF_NR_FK"] and "金额不是有效数字" in errors[0].message_zh


@pytest.mark.parametrize(
    ("value", "formats"),
    [
        ("２０２６-03-05", ["%Y-%m-%d"]),  # strptime would read full-width digits
        ("٢٠٢٦-٠٣-٠٥", ["%Y-%m-%d"]),
        ("２０２６年3月5日", []),
        ("2026-0３-05", []),
    ],
)
def test_date_refuses_half_converted_and_foreign_digits(value: str, formats: list[str]) -> None:
    out, errors = run([{"date": {"formats": formats}}], value, field="CF_JDRQ")
    assert out is None and [e.field for e in errors] == ["CF_JDRQ"]
    assert "无法识别的日期" in errors[0].message_zh


def test_fullwidth_date_is_read_whole_after_fullwidth_to_halfwidth() -> None:
    out = run(["fullwidth_to_halfwidth", "date"], "２０２６－０３－０５", field="CF_JDRQ")
    assert out == ("2026-03-05", [])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CF_XDR_ZJHM", 370113199001010000),
        ("CF_FR_ZJHM", 3.70113199001011e17),
        ("CF_XDR_SHXYM", 913701027986772040),
        ("CF_CFJGDM", 113701020041876500),
        ("CF_XDR_GSZC", 370102000012345),
    ],
)
def test_identifier_given_as_number_is_refused_not_coerced(field: str, value: Any) -> None:
    out, errors = run(["trim", "fullwidth_to_halfwidth", "upper"], value, field=field)
    assert out is None and [e.field for e in errors] == [field]
    assert "实际为数字" in errors[0].message_zh and "digits may already be lost" in errors[0].message_en
    if field.endswith("ZJHM"):  # the number quoted in the message is masked like any ID number
        assert str(value)[6:12] not in errors[0].message_zh


def test_non_identifier_number_is_still_text() -> None:
    assert run(["trim"], 12, field="CF_WSH") == ("12", [])


def test_control_character_in_a_quoted_value_is_escaped_in_the_message() -> None:
    out, errors = run(["yuan_to_wan"], "20\x0000")
    assert out is None
    assert "\x00" not in errors[0].message_zh and "\\u0000" in errors[0].message_zh


def test_identifier_constant_written_unquoted_in_the_mapping_is_its_text() -> None:
    spec = parse_mapping({"version": 1, "category": "penalty",
                          "fields": {"CF_CFJGDM": {"const": 113701130195098002}}}, "test")
    assert spec.apply({}).data == {"CF_CFJGDM": "113701130195098002"}
