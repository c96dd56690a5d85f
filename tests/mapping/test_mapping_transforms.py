"""Every named transform, table-driven: good values, edge values and bad values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from creditsync.exceptions import FieldError
from creditsync.mapping import custom, custom_transform, parse_mapping

CODES = {("subject_type", "01"): "自然人", ("subject_type", "02"): "法人及非法人组织"}


class UnknownCode(LookupError):
    """Like the schema's UnknownCodeError: a LookupError that is not a KeyError."""


def fake_lookup(table: str, value: str) -> str:
    if (table, value) == ("subject_type", "lookup_error"):
        raise UnknownCode(value)
    return CODES[(table, value)]


def run(transforms: list[Any], value: Any, field: str = "CF_X") -> tuple[Any, list[FieldError]]:
    """Map ``{"v": value}`` through one field with ``transforms``; (mapped value or None, errors)."""
    spec = parse_mapping(
        {"version": 1, "category": "penalty", "fields": {field: {"path": "v", "transforms": transforms}}},
        "test",
    )
    result = spec.apply({"v": value}, code_lookup=fake_lookup)
    return result.data.get(field), result.errors


def mapped(transforms: list[Any], value: Any) -> Any:
    out, errors = run(transforms, value)
    assert errors == [], errors
    return out


@pytest.mark.parametrize(
    ("transforms", "value", "expected"),
    [
        (["trim"], "  某某公司  ", "某某公司"),
        (["trim"], "\u3000某某\u200b\ufeff", "某某"),  # ideographic space, zero-width, BOM
        (["trim"], 12345, "12345"),  # codes exported as numbers are still text
        (["trim"], "", ""),
        (["fullwidth_to_halfwidth"], "９１３７０１０２ＡＢＣ", "91370102ABC"),
        (["fullwidth_to_halfwidth"], "ＡＢ　ｃ！＠＃", "AB c!@#"),
        (["fullwidth_to_halfwidth"], "某某（中国）有限公司", "某某(中国)有限公司"),
        (["fullwidth_to_halfwidth"], "济南市历下区", "济南市历下区"),
        (["fullwidth_to_halfwidth"], "２０００元", "2000元"),
        (["upper"], "91370102798677204a", "91370102798677204A"),
        (["lower"], "ABC", "abc"),
        (["trim", "fullwidth_to_halfwidth", "upper"], " ９１３７ａｂ　", "9137AB"),
        (["trim"], [" a ", "b "], ["a", "b"]),  # scalar transforms work element-wise on lists
    ],
)
def test_text_transforms(transforms: list[Any], value: Any, expected: Any) -> None:
    assert mapped(transforms, value) == expected


DATE_CASES = [
    ("2024-01-05", "2024-01-05"),
    ("2024-1-5", "2024-01-05"),
    ("2024/01/05", "2024-01-05"),
    ("2024/1/5", "2024-01-05"),
    ("20240105", "2024-01-05"),
    (20240105, "2024-01-05"),
    ("2024年1月5日", "2024-01-05"),
    ("2024-01-05T10:20:30", "2024-01-05"),
    ("2024-01-05 10:20:30", "2024-01-05"),
    ("2024/01/05 10:20", "2024-01-05"),
    ("2024-01-05T10:20:30.123456", "2024-01-05"),
    ("2024-01-05T23:20:30+08:00", "2024-01-05"),  # the calendar date where the decision was made
    ("2024-01-05T10:20:30Z", "2024-01-05"),
    (" 2024-01-05 ", "2024-01-05"),
    ("2099/12/31", "2099-12-31"),
    ("2024-02-29", "2024-02-29"),
    (date(2024, 1, 5), "2024-01-05"),
    (datetime(2024, 1, 5, 10, 0), "2024-01-05"),
    ("", None),  # blank is missing, for the schema to report
    ("   ", None),
]


@pytest.mark.parametrize(("value", "expected"), DATE_CASES)
def test_date_builtin_formats(value: Any, expected: str | None) -> None:
    assert mapped(["date"], value) == expected


@pytest.mark.parametrize(
    ("formats", "value", "expected"),
    [
        (["%d.%m.%Y"], "05.01.2024", "2024-01-05"),
        (["%Y-%m-%dT%H:%M:%S", "%Y%m%d"], "2024-01-05T10:20:30", "2024-01-05"),
        (["%m/%d/%Y"], "01/05/2024", "2024-01-05"),
        (["%d.%m.%Y"], "2024-01-05", "2024-01-05"),  # built-ins still apply after the given formats
    ],
)
def test_date_with_formats(formats: list[str], value: str, expected: str) -> None:
    assert mapped([{"date": {"formats": formats}}], value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024-13-01", "no such date"),
        ("2024-02-30", "no such date"),
        ("2023-02-29", "no such date"),
        ("abc", "unrecognised date"),
        ("2024015", "unrecognised date"),  # strptime would guess; the regex refuses
        ("05.01.2024", "unrecognised date"),  # needs an explicit format
        ("２０２４－０１－０５", "unrecognised date"),  # full-width: chain fullwidth_to_halfwidth first
        ([2024], "unrecognised date"),
    ],
)
def test_date_rejects_bad_values(value: Any, fragment: str) -> None:
    out, errors = run(["date"], value)
    assert out is None
    assert len(errors) == 1 and errors[0].field == "CF_X"
    assert fragment in errors[0].message_en
    assert "日期" in errors[0].message_zh


def test_fullwidth_date_after_normalising() -> None:
    assert mapped(["fullwidth_to_halfwidth", "date"], "２０２４－０１－０５") == "2024-01-05"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000", "0.2"),  # the standard's own example: 罚款2000元 → 0.2 万元
        (2000, "0.2"),
        (" 2000 ", "0.2"),
        ("2000.50", "0.20005"),
        ("2000.", "0.2"),
        (".5", "0.00005"),
        (1.5, "0.00015"),
        (0.1, "0.00001"),  # float via its shortest repr, not 0.1000000000000000055…
        ("0", "0"),
        ("20000000", "2000"),  # never exponent notation (2E+3)
        ("123456789012.345678", "12345678.9012345678"),  # exact: more digits than a float holds
        ("-100", "-0.01"),
        (Decimal("2000"), "0.2"),
        ("", None),
    ],
)
def test_yuan_to_wan_exact(value: Any, expected: str | None) -> None:
    out = mapped(["yuan_to_wan"], value)
    if expected is None:
        assert out is None
    else:
        assert isinstance(out, Decimal)
        assert str(out) == expected


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "２０００",
        "２０００元",
        "2000元",
        "2,00",  # thousands separators only in groups of three ("2,000" is 0.2)
        "1e3",
        "NaN",
        "Infinity",
        "١٢",
        True,
        [1, "x"],
        {"a": 1},
    ],
)
def test_yuan_to_wan_rejects_non_numbers(value: Any) -> None:
    """Money is refused unless it is a plain ASCII number: a unit or separator in the data means the
    mapping must say how to clean it (see the chain below), never a silent guess."""
    out, errors = run(["yuan_to_wan"], value, field="CF_NR_FK")
    assert out is None
    assert errors and all(e.field == "CF_NR_FK" for e in errors)
    assert "金额不是有效数字" in errors[0].message_zh
    assert "not a number" in errors[0].message_en


def test_yuan_with_unit_cleaned_explicitly() -> None:
    chain = ["fullwidth_to_halfwidth", {"replace": {"元": "", ",": ""}}, "yuan_to_wan"]
    assert mapped(chain, "２，０００元") == Decimal("0.2")


@pytest.mark.parametrize(
    ("step", "value", "expected"),
    [
        ({"code": {"table": "subject_type"}}, "02", "法人及非法人组织"),
        ({"code": {"table": "subject_type"}}, " 01 ", "自然人"),
        ({"code": {"table": "subject_type", "map": {"9": "自然人"}}}, "9", "自然人"),
        ({"code": {"table": "subject_type", "map": {"02": "个体工商户"}}}, "02", "个体工商户"),  # map first
        ({"code": {"map": {"A": "自然人"}}}, "A", "自然人"),
        ({"code": {"table": "subject_type"}}, ["01", "02"], ["自然人", "法人及非法人组织"]),
        ({"code": {"table": "subject_type"}}, "", None),
        ({"map": {"1": "自然人", "2": "法人及非法人组织"}}, "1", "自然人"),
        ({"map": {"1": "自然人", "2": "法人及非法人组织"}}, 2, "法人及非法人组织"),
        ({"map": {1: "自然人"}}, "1", "自然人"),  # int keys from Python dicts are compared as text
        ({"map": {"1": "自然人"}, "default": "其他"}, "7", "其他"),
        ({"map": {"1": "自然人"}, "default": None}, "7", None),
        ({"map": {"": "无"}}, "", "无"),
        ({"map": {"0": "警告", "1": "罚款"}}, ["0", "1"], ["警告", "罚款"]),
    ],
)
def test_code_and_map(step: dict[str, Any], value: Any, expected: Any) -> None:
    assert mapped([step], value) == expected


@pytest.mark.parametrize(
    ("step", "value", "fragment_zh", "fragment_en"),
    [
        (
            {"code": {"table": "subject_type"}},
            "9",
            "不在代码表 subject_type",
            "not in code table subject_type",
        ),
        ({"code": {"table": "subject_type"}}, "lookup_error", "不在代码表", "not in code table subject_type"),
        ({"code": {"table": "nope"}}, "01", "不在代码表 nope", "not in code table nope"),
        ({"code": {"map": {"A": "x"}}}, "B", "不在代码表 map", "not in code table map"),
        ({"map": {"1": "自然人"}}, "3", "不在映射表中", "not one of the mapped values (1)"),
    ],
)
def test_code_and_map_unknown_values(
    step: dict[str, Any], value: Any, fragment_zh: str, fragment_en: str
) -> None:
    out, errors = run([step], value, field="CF_XDR_LB")
    assert out is None
    assert [e.field for e in errors] == ["CF_XDR_LB"]
    assert fragment_zh in errors[0].message_zh
    assert fragment_en in errors[0].message_en


@pytest.mark.parametrize(
    ("step", "value", "expected"),
    [
        ({"join": ";"}, ["警告", "罚款"], "警告;罚款"),
        ({"join": ";"}, ["警告", "", None, " "], "警告"),
        ({"join": "、"}, [1, 2], "1、2"),
        ({"join": ";"}, "already text", "already text"),
        ({"join": ";"}, [], ""),
        ({"split": ";"}, "警告; 罚款;;", ["警告", "罚款"]),
        ({"split": ","}, ["a,b", "c"], ["a", "b", "c"]),
        ({"default": "无"}, "", "无"),
        ({"default": "无"}, "  ", "无"),
        ({"default": "无"}, [], "无"),
        ({"default": "无"}, "有", "有"),
        ({"replace": {"（": "(", "）": ")"}}, "某（中国）", "某(中国)"),
        ({"replace": {".": "-", "*": ""}}, "a.b*c", "a-bc"),  # literal, not regex
        ({"replace": {"a": "b", "b": "c"}}, "a", "c"),  # applied in the order written
    ],
)
def test_structural_transforms(step: dict[str, Any], value: Any, expected: Any) -> None:
    assert mapped([step], value) == expected


def test_default_transform_fills_a_missing_path() -> None:
    spec = parse_mapping(
        {
            "version": 1,
            "category": "penalty",
            "fields": {"CF_X": {"path": "absent", "transforms": [{"default": "无"}]}},
        }
    )
    assert spec.apply({}).data == {"CF_X": "无"}


@pytest.mark.parametrize(
    "transforms",
    [
        ["trim"],
        ["date"],
        ["yuan_to_wan"],
        [{"code": {"table": "subject_type"}}],
        [{"map": {"1": "x"}}],
        [{"join": ";"}],
        [{"split": ";"}],
        [{"replace": {"a": "b"}}],
    ],
)
def test_missing_values_pass_through_without_error(transforms: list[Any]) -> None:
    assert run(transforms, None) == (None, [])


def test_text_transform_refuses_a_mapping_value() -> None:
    out, errors = run(["trim"], {"nested": 1})
    assert out is None and "expected text" in errors[0].message_en


def test_error_messages_mask_id_numbers() -> None:
    """A bad value quoted back must not leak a full 身份证 number into reports and logs."""
    _, errors = run([{"map": {"1": "x"}}], "370102199001011234", field="CF_XDR_ZJHM")
    assert errors and "370102199001011234" not in errors[0].message
    assert "1234" in errors[0].message


def test_long_values_are_shortened_in_messages() -> None:
    _, errors = run(["date"], "x" * 500)
    assert len(errors[0].message_en) < 200


# ---- custom transforms (the escape hatch) --------------------------------------------------------


@pytest.fixture
def registered() -> Iterator[None]:
    @custom_transform("test_reverse")
    def reverse(value: Any, *, keep: int = 0) -> str:
        if value == "boom":
            raise ValueError("cannot reverse boom")
        return str(value)[::-1] + str(value)[:keep]

    yield
    custom.unregister("transform", "test_reverse")


@pytest.mark.usefixtures("registered")
def test_custom_transform_runs_registered_function() -> None:
    assert mapped([{"custom": "test_reverse"}], "abc") == "cba"
    assert mapped([{"custom": "test_reverse", "args": {"keep": 1}}], "abc") == "cbaa"


@pytest.mark.usefixtures("registered")
def test_custom_transform_value_error_becomes_field_error() -> None:
    out, errors = run([{"custom": "test_reverse"}], "boom")
    assert out is None
    assert errors == [
        FieldError(
            "CF_X",
            "自定义函数 test_reverse 失败：cannot reverse boom",
            "custom function test_reverse failed: cannot reverse boom",
        )
    ]


def test_registering_a_different_function_under_a_taken_name_fails() -> None:
    from creditsync.exceptions import ConfigurationError

    @custom_transform("test_taken")
    def first(value: Any) -> Any:
        return value

    try:
        with pytest.raises(ConfigurationError, match="already registered"):
            custom_transform("test_taken")(lambda value: value)
        assert custom_transform("test_taken")(first) is first  # same function again is harmless
    finally:
        custom.unregister("transform", "test_taken")


@pytest.mark.parametrize("name", ["Bad", "with-dash", "1st", ""])
def test_custom_names_must_be_snake_case(name: str) -> None:
    from creditsync.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="lower_snake_case"):
        custom_transform(name)(lambda value: value)


def test_bare_names_match_their_implementations() -> None:
    """The Literal that the JSON Schema shows and the dispatch table must list the same names."""
    from typing import get_args

    from creditsync.mapping.transforms import BARE_TRANSFORMS, BareTransform

    assert set(get_args(BareTransform)) == set(BARE_TRANSFORMS)
