"""行政处罚 (reference §3): amounts, categories, dates, payloads and error reporting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from schema_factories import AUTHORITY, COMPANY, LEGAL_REP_ID, PERSON_ID, penalty_row

from creditsync.exceptions import ConfigurationError
from creditsync.schema import CATEGORIES, errors_from_validation, field_codes, validate_record

TODAY = date(2026, 4, 1)


def validate(**overrides: Any) -> Any:
    return validate_record("penalty", penalty_row(**overrides), today=TODAY)


def messages(result: Any) -> list[tuple[str, str]]:
    return [(e.field, e.message_zh) for e in result.errors]


def test_valid_record_is_canonical() -> None:
    result = validate(CF_XDR_LB="02", CF_CFLB="0;1", CF_NR_FK="0.2000")
    assert result.ok, result.errors
    record = result.record
    assert record.category == "penalty"
    assert record.cf_xdr_lb == "法人及非法人组织"  # text value, not the code
    assert record.cf_cflb == "警告;罚款"
    assert record.cf_nr_fk == Decimal("0.2")
    assert record.decision_date() == date(2026, 3, 2)
    assert record.document_number() == "济历市监罚〔2026〕12号"
    assert record.subject_name() == "济南某某科技有限公司"


def test_business_key_is_category_authority_and_document_number() -> None:
    record = validate().record
    assert record.business_key() == f"penalty:{AUTHORITY}:济历市监罚〔2026〕12号"


def test_payload_by_standard_code_in_standard_order() -> None:
    payload = validate(CF_NR_FK=Decimal("2E-1"), CF_YXQ="2099/12/31").record.to_payload()
    assert list(payload) == [c for c in field_codes("penalty") if c in payload]
    assert payload["CF_NR_FK"] == "0.2"
    assert payload["CF_JDRQ"] == "2026-03-02"
    assert payload["CF_YXQ"] == "2099-12-31"  # 长期
    assert payload["CF_FR_ZJHM"] == LEGAL_REP_ID  # the push payload keeps full ID numbers
    assert "CF_GSJZQ" not in payload and "BZ" not in payload  # empty fields omitted


def test_masked_payload_hides_id_numbers() -> None:
    result = validate_record(
        "penalty", penalty_row("自然人", CF_NR="罚款。身份证号" + PERSON_ID), today=TODAY
    )
    masked = result.record.masked_payload()
    assert masked["CF_XDR_ZJHM"] == PERSON_ID[:6] + "********" + PERSON_ID[-4:]
    assert PERSON_ID not in str(masked)
    assert masked["CF_XDR_MC"] == "张某"


@pytest.mark.parametrize(
    ("value", "stored", "wire"),
    [
        ("0.2", Decimal("0.2"), "0.2"),
        ("10", Decimal("10"), "10"),
        ("0.000001", Decimal("0.000001"), "0.000001"),
        ("1.500000", Decimal("1.5"), "1.5"),
        (0.2, Decimal("0.2"), "0.2"),
        (3, Decimal("3"), "3"),
        (Decimal("1E+2"), Decimal("100"), "100"),
        ("0", Decimal("0"), "0"),
    ],
)
def test_amounts_in_wan_yuan(value: Any, stored: Decimal, wire: str) -> None:
    result = validate(CF_NR_FK=value)
    assert result.ok, result.errors
    assert result.record.cf_nr_fk == stored
    assert result.record.to_payload()["CF_NR_FK"] == wire


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("两千元", "罚款金额（万元）应为数字：两千元"),
        ("0.2万元", "罚款金额（万元）应为数字：0.2万元"),
        ("1,00", "罚款金额（万元）应为数字：1,00"),  # thousands separators only in groups of three
        ("NaN", "罚款金额（万元）应为数字：NaN"),
        (True, "罚款金额（万元）应为数字：True"),
        ("-0.2", "罚款金额（万元）不能为负数"),
        ("0.0000001", "罚款金额（万元）最多保留6位小数（单位：万元）"),
        ("1000000000000", "罚款金额（万元）超出允许范围（单位：万元）"),
    ],
)
def test_bad_amounts_are_rejected(value: Any, message: str) -> None:
    assert messages(validate(CF_NR_FK=value)) == [("CF_NR_FK", message)]


def test_bad_confiscation_amount_names_its_field() -> None:
    assert [e.field for e in validate(CF_NR_WFFF="abc").errors] == ["CF_NR_WFFF"]


@pytest.mark.parametrize(
    ("categories", "overrides", "problem"),
    [
        ("罚款", {"CF_NR_FK": ""}, ("CF_NR_FK", "处罚类别包含罚款时，罚款金额（万元）不能为空")),
        ("1", {"CF_NR_FK": ""}, ("CF_NR_FK", "处罚类别包含罚款时，罚款金额（万元）不能为空")),
        ("警告;罚款", {"CF_NR_FK": ""}, ("CF_NR_FK", "处罚类别包含罚款时，罚款金额（万元）不能为空")),
        ("警告", {"CF_NR_FK": ""}, None),
        (
            "吊销许可证件",
            {"CF_NR_FK": ""},
            ("CF_NR_ZKDX", "处罚类别包含暂扣或吊销证照时，暂扣或吊销证照名称及编号不能为空"),
        ),
        (
            "暂扣许可证件",
            {"CF_NR_FK": ""},
            ("CF_NR_ZKDX", "处罚类别包含暂扣或吊销证照时，暂扣或吊销证照名称及编号不能为空"),
        ),
        (
            "4",
            {"CF_NR_FK": ""},
            ("CF_NR_ZKDX", "处罚类别包含暂扣或吊销证照时，暂扣或吊销证照名称及编号不能为空"),
        ),
        ("吊销许可证件", {"CF_NR_FK": "", "CF_NR_ZKDX": "食品经营许可证 JY13701020012345"}, None),
    ],
)
def test_amount_and_licence_required_by_category(
    categories: str, overrides: dict[str, Any], problem: tuple[str, str] | None
) -> None:
    result = validate(CF_CFLB=categories, **overrides)
    assert messages(result) == ([problem] if problem else [])


def test_confiscation_without_amount_is_only_a_warning() -> None:
    result = validate(CF_CFLB="没收违法所得;罚款")
    assert result.ok
    assert [w.field for w in result.warnings] == ["CF_NR_WFFF"]


def test_categories_as_a_native_list() -> None:
    assert validate(CF_CFLB=["警告", "罚款"]).record.cf_cflb == "警告;罚款"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("警告;罚款", "警告;罚款"),
        ("警告；罚款", "警告;罚款"),
        ("0；1", "警告;罚款"),
        ("罚款;没收违法所得、没收非法财物", "罚款;没收违法所得、没收非法财物"),
        ("罚款;2", "罚款;没收违法所得、没收非法财物"),
        ("罚款;罚款", "罚款"),
    ],
)
def test_multiple_categories_are_joined_with_semicolons(value: str, stored: str) -> None:
    result = validate(CF_CFLB=value)
    assert result.ok, result.errors
    assert result.record.cf_cflb == stored


@pytest.mark.parametrize("value", ["警告、罚款", "罚金", ";"])
def test_invalid_categories(value: str) -> None:
    [error] = validate(CF_CFLB=value).errors
    assert error.field == "CF_CFLB"


@pytest.mark.parametrize(
    "value",
    ["2026/03/02", "2026-03-02", "20260302", "2026/3/2", date(2026, 3, 2), 20260302],
)
def test_date_formats(value: Any) -> None:
    result = validate(CF_JDRQ=value)
    assert result.ok, result.errors
    assert result.record.cf_jdrq == date(2026, 3, 2)


@pytest.mark.parametrize("value", ["2026.03.02", "2026-03/02", "2026/02/30", "02/03/2026", "明天"])
def test_bad_dates(value: str) -> None:
    [error] = validate(CF_JDRQ=value).errors
    assert error.field == "CF_JDRQ" and error.message_zh.startswith("处罚决定日期不是有效日期")


@pytest.mark.parametrize(("decided", "ok"), [("2026/04/01", True), ("2026/04/02", False)])
def test_decision_date_not_in_the_future(decided: str, ok: bool) -> None:
    result = validate(CF_JDRQ=decided, CF_YXQ="2027/04/01")
    assert result.ok is ok
    if not ok:
        assert messages(result) == [("CF_JDRQ", "处罚决定日期不能大于当前日期")]


def test_today_defaults_to_shanghai() -> None:
    assert not validate_record("penalty", penalty_row(CF_JDRQ="2999/01/01", CF_YXQ="2999/12/31")).ok


def test_validity_before_decision_is_a_warning() -> None:
    result = validate(CF_YXQ="2026/01/01")
    assert result.ok
    assert [w.field for w in result.warnings] == ["CF_YXQ"]


@pytest.mark.parametrize(
    "code",
    [
        "CF_XDR_MC",
        "CF_XDR_LB",
        "CF_WSH",
        "CF_WFXW",
        "CF_SY",
        "CF_YJ",
        "CF_CFLB",
        "CF_NR",
        "CF_JDRQ",
        "CF_YXQ",
        "CF_CFJG",
        "CF_CFJGDM",
        "CF_SJLY",
        "CF_SJLYDM",
    ],
)
@pytest.mark.parametrize("how", ["blank", "absent"])
def test_required_fields(code: str, how: str) -> None:
    row = penalty_row(CF_CFLB="警告")
    if how == "blank":
        row[code] = "  "
    else:
        del row[code]
    result = validate_record("penalty", row, today=TODAY)
    title = CATEGORIES["penalty"].by_code[code].title
    assert messages(result) == [(code, f"{title}不能为空")]


def test_missing_subject_type_message_is_the_platform_style() -> None:
    assert messages(validate(CF_XDR_LB="")) == [("CF_XDR_LB", "行政相对人类别不能为空")]


def test_all_errors_of_a_record_are_collected() -> None:
    result = validate(
        CF_XDR_SHXYM=COMPANY[:-1] + "0",
        CF_NR_FK="",
        CF_JDRQ="2026/05/01",
        CF_YXQ="2026/13/01",
        CF_SJLYDM="91110108551385O82Q",
        CF_WSH="文" * 129,
        EXTRA="x",
    )
    assert [e.field for e in result.errors] == [
        "CF_XDR_SHXYM",
        "CF_WSH",
        "CF_NR_FK",
        "CF_JDRQ",
        "CF_YXQ",
        "CF_SJLYDM",
        "EXTRA",
    ]
    assert result.record is None and not result.ok


def test_unknown_fields_are_named() -> None:
    result = validate(ID="4f6e0c", CF_FOO="1")
    assert messages(result) == [
        ("ID", "未知字段：ID（行政处罚）"),
        ("CF_FOO", "未知字段：CF_FOO（行政处罚）"),
    ]


def test_attribute_names_are_accepted_as_keys() -> None:
    row = {k.lower(): v for k, v in penalty_row().items()}
    assert validate_record("penalty", row, today=TODAY).ok


def test_unknown_category_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        validate_record("punishment", penalty_row())


def test_text_too_long() -> None:
    assert messages(validate(CF_WSH="号" * 129)) == [("CF_WSH", "行政处罚决定书文号长度不能超过128个字符")]


def test_direct_model_validation_errors_convert_to_field_errors() -> None:
    model = CATEGORIES["penalty"].model
    with pytest.raises(ValidationError) as caught:
        model.model_validate(penalty_row(CF_CFJGDM="914403001922038217", CF_CFLB="罚款", CF_NR_FK=None))
    errors = errors_from_validation(caught.value, CATEGORIES["penalty"])
    assert [(e.field, e.message_zh) for e in errors] == [("CF_CFJGDM", "统一社会信用代码校验位错误，应为6")]
    with pytest.raises(ValidationError) as caught:
        model.model_validate(penalty_row(CF_NR_FK=""), context=None)
    [error] = errors_from_validation(caught.value, CATEGORIES["penalty"])
    assert error.field == "CF_NR_FK"


def test_records_are_immutable() -> None:
    record = validate().record
    with pytest.raises(ValidationError):
        record.cf_wsh = "other"


def test_payload_of_a_copy_with_changes_follows_the_changes() -> None:
    record = validate().record
    assert record.to_payload()["CF_WSH"] == "济历市监罚〔2026〕12号"
    changed = record.model_copy(update={"cf_wsh": "济历市监罚〔2026〕13号"})
    assert changed.to_payload()["CF_WSH"] == "济历市监罚〔2026〕13号"
    assert record.to_payload()["CF_WSH"] == "济历市监罚〔2026〕12号"


def test_records_from_the_validator_and_from_the_model_are_equal() -> None:
    row = penalty_row()
    checked = validate_record("penalty", row, today=TODAY).record
    modelled = CATEGORIES["penalty"].model.model_validate(row)
    checked.to_payload()
    assert checked == modelled and checked.to_payload() == modelled.to_payload()
    assert checked.model_dump() == modelled.model_dump()
