"""行政许可 (reference §2) and the conditional rules by 行政相对人类别 (§6), for both categories."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from schema_factories import (
    COMPANY,
    INDIVIDUAL_BUSINESS,
    PERSON_ID,
    foreign_permanent_id,
    license_row,
    penalty_row,
    resident_id,
    wrong_check,
)

from creditsync.schema import (
    CATEGORIES,
    LONG_TERM,
    CanonicalRecord,
    field_codes,
    field_titles,
    validate_record,
)
from creditsync.schema.identifiers import USCC_PLACEHOLDER

TODAY = date(2026, 4, 1)
ROWS = {"license": license_row, "penalty": penalty_row}
PREFIX = {"license": "XK", "penalty": "CF"}


def check(category: str, kind: str, **fields: Any) -> list[tuple[str, str]]:
    """Errors of a valid row of ``kind`` after setting ``fields`` (given without the category prefix)."""
    prefix = PREFIX[category]
    row = ROWS[category](kind, **{f"{prefix}_{k}": v for k, v in fields.items()})
    result = validate_record(category, row, today=TODAY)
    return [(e.field.removeprefix(f"{prefix}_"), e.message_zh) for e in result.errors]


LEGAL = "法人及非法人组织"
PERSON = "自然人"
SHOP = "个体工商户"

CONDITIONAL_CASES = [
    # 法人及非法人组织: SHXYM required and valid, FRDB required, subject ID fields empty
    (LEGAL, {}, []),
    (
        LEGAL,
        {"XDR_SHXYM": ""},
        [("XDR_SHXYM", "行政相对人类别为法人及非法人组织时，统一社会信用代码不能为空")],
    ),
    (LEGAL, {"FRDB": ""}, [("FRDB", "行政相对人类别为法人及非法人组织时，法定代表人不能为空")]),
    (
        LEGAL,
        {"XDR_SHXYM": wrong_check(COMPANY)},
        [("XDR_SHXYM", f"统一社会信用代码校验位错误，应为{COMPANY[-1]}")],
    ),
    (
        LEGAL,
        {"XDR_ZJLX": "身份证", "XDR_ZJHM": PERSON_ID},
        [
            ("XDR_ZJLX", "行政相对人类别为法人及非法人组织时，证件类型应为空"),
            ("XDR_ZJHM", "行政相对人类别为法人及非法人组织时，证件号码应为空"),
        ],
    ),
    (
        LEGAL,
        {"XDR_SHXYM": USCC_PLACEHOLDER, "XDR_GSZC": "370102600123456"},
        [("XDR_SHXYM", "统一社会信用代码占位符00000000000000000X仅适用于个体工商户")],
    ),
    (LEGAL, {"FR_ZJHM": "110105194912310021"}, [("FR_ZJHM", "身份证号码校验位错误，应为X")]),
    (LEGAL, {"FR_ZJLX": "护照", "FR_ZJHM": "E12345678"}, []),  # passports are not checksummed
    (LEGAL, {"XDR_LB": "03"}, []),  # internal code of 非法人组织
    # 个体工商户: SHXYM required; the placeholder is allowed and then needs GSZC
    (SHOP, {}, []),
    (SHOP, {"FRDB": ""}, []),
    (SHOP, {"XDR_SHXYM": ""}, [("XDR_SHXYM", "行政相对人类别为个体工商户时，统一社会信用代码不能为空")]),
    (SHOP, {"XDR_SHXYM": USCC_PLACEHOLDER, "XDR_GSZC": "370102600123456"}, []),
    (
        SHOP,
        {"XDR_SHXYM": USCC_PLACEHOLDER.lower()},
        [("XDR_GSZC", "统一社会信用代码为占位符时，工商注册号不能为空")],
    ),
    (
        SHOP,
        {"XDR_SHXYM": wrong_check(INDIVIDUAL_BUSINESS)},
        [("XDR_SHXYM", f"统一社会信用代码校验位错误，应为{INDIVIDUAL_BUSINESS[-1]}")],
    ),
    # 自然人: ZJLX + ZJHM required and valid, organisation code fields empty
    (PERSON, {}, []),
    (PERSON, {"XDR_ZJLX": ""}, [("XDR_ZJLX", "行政相对人类别为自然人时，证件类型不能为空")]),
    (PERSON, {"XDR_ZJHM": ""}, [("XDR_ZJHM", "行政相对人类别为自然人时，证件号码不能为空")]),
    (PERSON, {"XDR_ZJHM": "110105194912310021"}, [("XDR_ZJHM", "身份证号码校验位错误，应为X")]),
    (PERSON, {"XDR_ZJLX": "01", "XDR_ZJHM": "11010519491231002x"}, []),
    (PERSON, {"XDR_ZJLX": "05", "XDR_ZJHM": foreign_permanent_id("93715619900101123")}, []),
    (
        PERSON,
        {"XDR_ZJLX": "05", "XDR_ZJHM": PERSON_ID[:-1] + "0"},
        [("XDR_ZJHM", "外国人永久居留身份证号码应为以9开头的18位或旧版15位")],
    ),
    (PERSON, {"XDR_ZJLX": "护照", "XDR_ZJHM": "E12345678"}, []),
    (
        PERSON,
        {"XDR_ZJLX": "驾驶证"},
        [
            (
                "XDR_ZJLX",
                "证件类型取值无效：驾驶证（可选值：身份证、护照、港澳居民来往内地通行证、"
                "台湾居民来往大陆通行证、外国人永久居留身份证）",
            )
        ],
    ),
    (PERSON, {"XDR_SHXYM": COMPANY}, [("XDR_SHXYM", "行政相对人类别为自然人时，统一社会信用代码应为空")]),
    (PERSON, {"XDR_ZZJG": "MA3C4F7Q3"}, [("XDR_ZZJG", "行政相对人类别为自然人时，组织机构代码应为空")]),
    (
        PERSON,
        {"XDR_GSZC": "370102600123456", "XDR_SHZZ": "51370100MJD123456X"},
        [
            ("XDR_GSZC", "行政相对人类别为自然人时，工商注册号应为空"),
            ("XDR_SHZZ", "行政相对人类别为自然人时，社会组织登记证号应为空"),
        ],
    ),
    (
        PERSON,
        {"XDR_SHXYM": USCC_PLACEHOLDER},
        [
            ("XDR_SHXYM", "行政相对人类别为自然人时，统一社会信用代码应为空"),
            ("XDR_SHXYM", "统一社会信用代码占位符00000000000000000X仅适用于个体工商户"),
        ],
    ),
    # any type
    (
        LEGAL,
        {"XDR_LB": "企业"},
        [("XDR_LB", "行政相对人类别取值无效：企业（可选值：法人及非法人组织、自然人、个体工商户）")],
    ),
    (LEGAL, {"XDR_SWDJ": "37010212345"}, [("XDR_SWDJ", "税务登记号长度不能少于15个字符")]),
]


@pytest.mark.parametrize("category", ["license", "penalty"])
@pytest.mark.parametrize(("kind", "fields", "expected"), CONDITIONAL_CASES)
def test_conditional_rules_by_subject_type(
    category: str, kind: str, fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert check(category, kind, **fields) == expected


@pytest.mark.parametrize("category", ["license", "penalty"])
@pytest.mark.parametrize("authority_field", ["authority", "source"])
def test_authority_codes_must_be_valid(category: str, authority_field: str) -> None:
    code = {
        ("license", "authority"): "XK_XKJGDM",
        ("license", "source"): "XK_LYDWDM",
        ("penalty", "authority"): "CF_CFJGDM",
        ("penalty", "source"): "CF_SJLYDM",
    }[(category, authority_field)]
    for bad, message in [
        ("91110108551385O82Q", "统一社会信用代码含有非法字符"),
        (USCC_PLACEHOLDER, "统一社会信用代码校验位错误"),
    ]:
        result = validate_record(category, ROWS[category](**{code: bad}), today=TODAY)
        assert [e.field for e in result.errors] == [code]
        assert result.errors[0].message_zh.startswith(message)


def test_valid_licence() -> None:
    result = validate_record("license", license_row(XK_XKLB="05", XK_ZT="1"), today=TODAY)
    assert result.ok, result.errors
    record = result.record
    assert isinstance(record, CanonicalRecord) and record.category == "license"
    assert (record.xk_xklb, record.xk_zt) == ("登记", "有效")
    assert record.business_key() == f"license:{record.xk_xkjgdm}:济历市监许〔2026〕118号"
    assert record.get("XK_YXQZI") == date(2031, 3, 1)


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2026/03/02", "2031/03/01", True),
        ("2026/03/02", "2026/03/02", True),
        ("2026/03/02", "2099/12/31", True),
        ("2026/03/02", "2026/03/01", False),
    ],
)
def test_validity_period_order(start: str, end: str, ok: bool) -> None:
    result = validate_record("license", license_row(XK_YXQZ=start, XK_YXQZI=end), today=TODAY)
    assert result.ok is ok
    if not ok:
        assert [(e.field, e.message_zh) for e in result.errors] == [("XK_YXQZI", "有效期至不能早于有效期自")]


def test_long_term_validity() -> None:
    record = validate_record("license", license_row(XK_YXQZI="2099/12/31"), today=TODAY).record
    assert record is not None and record.xk_yxqzi == LONG_TERM


def test_future_licence_decision_date() -> None:
    result = validate_record("license", license_row(XK_JDRQ="20260402"), today=TODAY)
    assert [(e.field, e.message_zh) for e in result.errors] == [("XK_JDRQ", "许可决定日期不能大于当前日期")]


@pytest.mark.parametrize(
    ("value", "stored"), [("0", None), ("2", "无效"), ("撤销", "无效"), ("正常", "有效")]
)
def test_licence_status(value: str, stored: str | None) -> None:
    result = validate_record("license", license_row(XK_ZT=value), today=TODAY)
    assert (result.record.xk_zt if result.record else None) == stored


@pytest.mark.parametrize(
    ("category", "count", "first", "last"),
    [("license", 28, "XK_XDR_MC", "BZ"), ("penalty", 30, "CF_XDR_MC", "BZ")],
)
def test_field_codes_in_standard_order(category: str, count: int, first: str, last: str) -> None:
    codes = field_codes(category)
    assert (len(codes), codes[0], codes[-1]) == (count, first, last)
    assert len(set(codes)) == count


def test_licence_field_order_matches_reference() -> None:
    assert field_codes("license")[13:] == [
        "XK_XKWS",
        "XK_WSH",
        "XK_XKLB",
        "XK_XKZS",
        "XK_XKBH",
        "XK_NR",
        "XK_JDRQ",
        "XK_YXQZ",
        "XK_YXQZI",
        "XK_XKJG",
        "XK_XKJGDM",
        "XK_ZT",
        "XK_LYDW",
        "XK_LYDWDM",
        "BZ",
    ]


@pytest.mark.parametrize(
    ("category", "code", "title"),
    [
        ("license", "XK_XDR_LB", "行政相对人类别"),
        ("license", "XK_YXQZI", "有效期至"),
        ("penalty", "CF_NR_FK", "罚款金额（万元）"),
    ],
)
def test_field_titles(category: str, code: str, title: str) -> None:
    assert field_titles(category)[code] == title


@pytest.mark.parametrize(
    ("name", "prefix", "title", "keys"),
    [
        ("license", "XK", "行政许可", ("XK_XKJGDM", "XK_WSH")),
        ("penalty", "CF", "行政处罚", ("CF_CFJGDM", "CF_WSH")),
    ],
)
def test_category_specs(name: str, prefix: str, title: str, keys: tuple[str, str]) -> None:
    spec = CATEGORIES[name]
    assert (spec.name, spec.prefix, spec.title_zh, spec.key_fields) == (name, prefix, title, keys)
    assert spec.model.category == name and issubclass(spec.model, CanonicalRecord)
    assert spec.model.model_fields[f"{prefix.lower()}_xdr_mc"].alias == f"{prefix}_XDR_MC"


def test_unknown_birthplace_is_a_warning_on_the_record() -> None:
    number = resident_id("37019919900101123")
    result = validate_record("license", license_row(PERSON, XK_XDR_ZJHM=number), today=TODAY)
    assert result.ok
    assert [(w.field, w.message_zh) for w in result.warnings] == [
        ("XK_XDR_ZJHM", "身份证号码的地址码370199未能识别")
    ]
