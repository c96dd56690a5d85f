"""Code tables (reference §5) as YAML data: lookups by code, text and alias."""

from __future__ import annotations

import pytest

from creditsync.exceptions import ConfigurationError
from creditsync.schema import code_of, codetables, lookup, lookup_many


@pytest.mark.parametrize(
    ("table", "value", "text"),
    [
        ("subject_type", "法人及非法人组织", "法人及非法人组织"),
        ("subject_type", "01", "自然人"),
        ("subject_type", "02", "法人及非法人组织"),
        ("subject_type", "03", "法人及非法人组织"),
        ("subject_type", "04", "个体工商户"),
        ("subject_type", "法人", "法人及非法人组织"),
        ("subject_type", "4", "个体工商户"),  # leading zero lost in Excel
        ("subject_type", 4, "个体工商户"),
        ("subject_type", " 自然人 ", "自然人"),
        ("license_type", "01", "普通"),
        ("license_type", "核准", "核准"),
        ("license_type", "06", "其他"),
        ("license_type", "其他（需注明）", "其他"),
        ("id_type", "01", "身份证"),
        ("id_type", "居民身份证", "身份证"),
        ("id_type", "05", "外国人永久居留身份证"),
        ("penalty_type", "罚款", "罚款"),
        ("penalty_type", "通报批评", "通报批评"),
        ("penalty_type", "没收违法所得、没收非法财物", "没收违法所得、没收非法财物"),
        ("penalty_type", "暂扣或者吊销许可证/执照", "暂扣或者吊销许可证、暂扣或者吊销执照"),
        ("penalty_type", "法律、行政法规规定的其他行政处罚", "法律、行政法规规定的其他行政处罚"),
        ("license_status", "1", "有效"),
        ("license_status", "注销", "无效"),
        ("status_legacy", "1", "撤销"),
    ],
)
def test_lookup_by_code_text_or_alias(table: str, value: object, text: str) -> None:
    assert lookup(table, value) == text


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("0", "警告"),
        ("1", "罚款"),
        ("2", "没收违法所得、没收非法财物"),
        ("3", "责令停产停业"),
        ("4", "暂扣或者吊销许可证、暂扣或者吊销执照"),
        ("5", "行政拘留"),
        ("6", "其他"),
    ],
)
def test_legacy_penalty_codes(code: str, text: str) -> None:
    assert lookup("penalty_type", code) == text


@pytest.mark.parametrize(
    ("table", "value"),
    [
        ("subject_type", "企业"),
        ("license_type", "07"),
        ("penalty_type", "7"),
        ("id_type", True),
        ("id_type", 1.0),
    ],
)
def test_unknown_values_raise(table: str, value: object) -> None:
    with pytest.raises(codetables.UnknownCodeError):
        lookup(table, value)


def test_unknown_table_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        lookup("no_such_table", "1")


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        ("警告;罚款", ["警告", "罚款"]),
        ("警告；罚款", ["警告", "罚款"]),
        ("0;1", ["警告", "罚款"]),
        ("罚款; 罚款 ;1", ["罚款"]),  # duplicates removed
        ("没收违法所得、没收非法财物；罚款", ["没收违法所得、没收非法财物", "罚款"]),  # 、 is inside a value
        ("罚款;;", ["罚款"]),
    ],
)
def test_lookup_many_splits_only_on_semicolons(value: str, texts: list[str]) -> None:
    assert lookup_many("penalty_type", value) == texts


def test_lookup_many_accepts_native_lists() -> None:
    assert lookup_many("penalty_type", ["警告", "1;2"]) == ["警告", "罚款", "没收违法所得、没收非法财物"]


def test_enumeration_comma_is_not_a_separator() -> None:
    with pytest.raises(codetables.UnknownCodeError):
        lookup_many("penalty_type", "警告、罚款")


@pytest.mark.parametrize(
    ("table", "text", "code"),
    [
        ("license_type", "登记", "05"),
        ("id_type", "护照", "02"),
        ("subject_type", "法人及非法人组织", "02"),
        ("penalty_type", "通报批评", None),
    ],
)
def test_code_of_gives_the_first_code(table: str, text: str, code: str | None) -> None:
    assert code_of(table, text) == code


@pytest.mark.parametrize(
    ("texts", "tags"),
    [
        (["罚款"], {"fine"}),
        (["警告", "吊销许可证件"], {"suspension"}),
        (["暂扣或者吊销许可证、暂扣或者吊销执照", "没收违法所得"], {"suspension", "confiscation"}),
        (["警告"], set()),
    ],
)
def test_tags_drive_conditional_rules(texts: list[str], tags: set[str]) -> None:
    assert codetables.tags_of("penalty_type", texts) == tags


def test_every_table_loads_and_texts_are_unique() -> None:
    names = codetables.table_names()
    assert {"subject_type", "license_type", "id_type", "penalty_type", "license_status"} <= set(names)
    for name in names:
        texts = codetables.table(name).texts
        assert len(texts) == len(set(texts)), name


def test_penalty_table_has_all_2021_wordings() -> None:
    wording_2021 = [
        e.text for e in codetables.table("penalty_type").entries if e.attributes["wording"] == "2021"
    ]
    assert len(wording_2021) == 14
