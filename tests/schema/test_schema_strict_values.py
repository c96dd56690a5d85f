"""Hostile values the validator must refuse or read exactly (amounts, dates, identifiers, control
characters): each case is a hole that was open, named after what it guards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from schema_factories import COMPANY, PERSON_ID, penalty_row

from creditsync.schema import validate_record
from creditsync.schema.identifiers import compact

TODAY = date(2026, 4, 1)
FULLWIDTH_DIGITS = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def validate(kind: str = "法人及非法人组织", **overrides: Any) -> Any:
    return validate_record("penalty", penalty_row(kind, **overrides), today=TODAY)


def errors(result: Any) -> list[tuple[str, str]]:
    return [(e.field, e.message_zh) for e in result.errors]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("1,234.5", Decimal("1234.5")),
        ("12,345,678", Decimal("12345678")),
        ("1,000", Decimal("1000")),
        ("0.25", Decimal("0.25")),
    ],
)
def test_amount_thousands_separators_in_groups_of_three_are_read(value: str, stored: Decimal) -> None:
    result = validate(CF_NR_FK=value)
    assert result.ok, result.errors
    assert result.record.cf_nr_fk == stored


@pytest.mark.parametrize(
    "value",
    [
        "1,2",  # was 0.0012 万元 once a mapping stripped the comma
        "1,2,3,4",
        "12,34",
        ",123",
        "1,234,56",
        "1e3",
        "2E-1",
        "1_000",
        "١٢",  # Arabic-Indic digits
        "०.५",  # Devanagari digits
        "２０００",  # full-width digits: refused, never half-read
        "１,０００",
        "NaN",
        "Infinity",
    ],
)
def test_amount_strict_rule_refuses_loose_numbers(value: str) -> None:
    assert errors(validate(CF_NR_FK=value)) == [("CF_NR_FK", f"罚款金额（万元）应为数字：{value}")]


@pytest.mark.parametrize(
    "value",
    [
        "٢٠٢٦-٠٣-٠٢",  # Arabic-Indic digits
        "２０２６-03-02",  # half full-width
        "2026－03－02",  # full-width punctuation only
        "２０２６０３０２",
        "2026-03-02T00:00:00",
    ],
)
def test_date_strict_rule_refuses_foreign_digits_and_half_converted_dates(value: str) -> None:
    [(field, message)] = errors(validate(CF_JDRQ=value))
    assert field == "CF_JDRQ" and message.startswith("处罚决定日期不是有效日期")


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("CF_XDR_ZJHM", 370113199001010000, "自然人"),  # 18 digits through a float: last digits lost
        ("CF_XDR_ZJHM", 3.70113199001011e17, "自然人"),
        ("CF_FR_ZJHM", 370102198512310049, "法人及非法人组织"),
        ("CF_XDR_SHXYM", 913701027986772040, "法人及非法人组织"),
        ("CF_CFJGDM", 113701020041876500, "法人及非法人组织"),
        ("CF_XDR_GSZC", 370102000012345, "个体工商户"),
    ],
)
def test_identifier_given_as_number_is_refused_not_coerced(field: str, value: Any, kind: str) -> None:
    result = validate(kind, **{field: value})
    assert result.record is None
    [message] = [m for f, m in errors(result) if f == field]
    assert "应为文本，不能是数字" in message and "丢失位数" in message


@pytest.mark.parametrize(
    ("field", "value", "layout_allowed"),
    [
        ("CF_XDR_MC", "济南某某\x00科技有限公司", False),
        ("CF_WSH", "济历市监罚〔2026〕12号\x00", False),
        ("CF_XDR_MC", "济南某某\x1b科技有限公司", False),
        ("CF_XDR_MC", "济南某某\n科技有限公司", False),  # a name has no line breaks
        ("CF_SY", "当事人\x00销售不符合标准的电线电缆。", True),
        ("CF_SY", "当事人\x7f销售", True),
        ("CF_XDR_SHXYM", COMPANY[:9] + "\x00" + COMPANY[9:], False),
        ("CF_NR_FK", "0.2\x00", False),
        ("CF_JDRQ", "2026/03/02\x00", False),
        ("CF_CFLB", "罚款\x00", False),
    ],
)
def test_control_characters_are_refused_per_field_with_a_reason(field: str, value: str,
                                                                layout_allowed: bool) -> None:
    result = validate(**{field: value})
    assert result.record is None
    [message] = [e for e in result.errors if e.field == field]
    assert "含有控制字符U+" in message.message_zh and "control character U+" in message.message_en
    assert "\x00" not in message.message_zh + message.message_en


@pytest.mark.parametrize("text", ["当事人销售\n不符合标准的电线电缆。", "第一条\t第二条", "甲\r\n乙"])
def test_tab_and_line_breaks_stay_legitimate_in_long_free_text(text: str) -> None:
    result = validate(CF_SY=text)
    assert result.ok, result.errors
    assert result.record.cf_sy == text


def test_fullwidth_uscc_is_read_as_the_same_code() -> None:
    result = validate(CF_XDR_SHXYM=COMPANY.translate(FULLWIDTH_DIGITS).replace("M", "Ｍ"))
    assert result.ok, result.errors
    assert result.record.cf_xdr_shxym == COMPANY


def test_fullwidth_id_number_is_read_as_the_same_number() -> None:
    result = validate("自然人", CF_XDR_ZJHM=PERSON_ID.translate(FULLWIDTH_DIGITS))
    assert result.ok, result.errors
    assert result.record.cf_xdr_zjhm == PERSON_ID


def test_fullwidth_uscc_with_a_wrong_check_digit_gets_the_check_digit_message() -> None:
    wrong = COMPANY[:-1] + ("1" if COMPANY[-1] != "1" else "2")
    [(field, message)] = errors(validate(CF_XDR_SHXYM=wrong.translate(FULLWIDTH_DIGITS)))
    assert (field, message) == ("CF_XDR_SHXYM", f"统一社会信用代码校验位错误，应为{COMPANY[-1]}")


@pytest.mark.parametrize("text", ["91370102 MA3C4F7Q-3G`", "abc-def ghi", "`'-*,./: ", "ＡＢＣ－１２３"])
def test_compact_agrees_with_stdnum_for_ascii_and_fullwidth(text: str) -> None:
    from stdnum.cn import uscc
    from stdnum.util import clean

    from creditsync.strict_text import halfwidth

    assert compact(text) == uscc.compact(halfwidth(text)) == clean(halfwidth(text), " -").upper().strip()
