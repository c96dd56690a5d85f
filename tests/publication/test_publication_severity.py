"""Severity of a penalty: a mapped field, else the department's default, else the rule on types and fine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from creditsync.exceptions import SkippableRecordError
from creditsync.publication.severity import Severity, SeverityRule, parse_severity, severity_of

ORG, PERSON = "法人及非法人组织", "自然人"


@pytest.mark.parametrize(("record", "default", "expected"), [
    # a mapped field wins over everything
    ({"CF_SXYZCD": "严重", "CF_CFLB": "警告"}, "轻微", Severity.SERIOUS),
    ({"CF_SXYZCD": "1", "CF_CFLB": "吊销许可证件"}, None, Severity.MINOR),
    ({"CF_SXYZCD": "一般失信"}, None, Severity.GENERAL),
    # then the department's default
    ({"CF_SXYZCD": "", "CF_CFLB": "吊销许可证件"}, "一般", Severity.GENERAL),
    ({"CF_CFLB": "警告"}, Severity.SERIOUS, Severity.SERIOUS),
    # then the rule: licence, business or liberty taken away
    ({"CF_CFLB": "罚款;吊销许可证件", "CF_NR_FK": "0.5"}, None, Severity.SERIOUS),
    ({"CF_CFLB": "行政拘留", "CF_XDR_LB": PERSON}, None, Severity.SERIOUS),
    ({"CF_CFLB": "暂扣或者吊销许可证、暂扣或者吊销执照"}, None, Severity.SERIOUS),
    # a large fine
    ({"CF_CFLB": "罚款", "CF_NR_FK": "10", "CF_XDR_LB": ORG}, None, Severity.SERIOUS),
    ({"CF_CFLB": "罚款", "CF_NR_FK": "9.99", "CF_XDR_LB": ORG}, None, Severity.GENERAL),
    # summary-procedure sized: warning, criticism, small fine
    ({"CF_CFLB": "警告"}, None, Severity.MINOR),
    ({"CF_CFLB": "警告;通报批评"}, None, Severity.MINOR),
    ({"CF_CFLB": "罚款", "CF_NR_FK": "0.3", "CF_XDR_LB": ORG}, None, Severity.MINOR),
    ({"CF_CFLB": "罚款", "CF_NR_FK": "0.31", "CF_XDR_LB": ORG}, None, Severity.GENERAL),
    ({"CF_CFLB": "罚款", "CF_NR_FK": "0.02", "CF_XDR_LB": PERSON}, None, Severity.MINOR),
    ({"CF_CFLB": "罚款", "CF_NR_FK": "0.03", "CF_XDR_LB": PERSON}, None, Severity.GENERAL),
    ({"CF_CFLB": "警告；没收违法所得"}, None, Severity.GENERAL),  # full-width separator
    ({"CF_CFLB": ["警告", "罚款"], "CF_NR_FK": Decimal("0.1")}, None, Severity.MINOR),
    ({}, None, Severity.GENERAL),  # nothing to go on: the middle level
])
def test_severity_of(record: dict[str, Any], default: str | None, expected: Severity) -> None:
    assert severity_of(record, department_default=default) is expected


def test_a_stricter_local_rule_is_a_parameter() -> None:
    strict = SeverityRule(serious_fine=Decimal("1"))
    assert severity_of({"CF_CFLB": "罚款", "CF_NR_FK": "1"}, rule=strict) is Severity.SERIOUS


@pytest.mark.parametrize("value", ["中等", "4", "high"])
def test_an_unknown_mapped_severity_names_the_field_and_the_record(value: str) -> None:
    with pytest.raises(SkippableRecordError) as caught:
        severity_of({"CF_SXYZCD": value}, record_key="penalty:X:文书1")
    assert caught.value.errors[0].field == "CF_SXYZCD"
    assert value in caught.value.errors[0].message_zh
    assert "文书1" in str(caught.value)


def test_an_unknown_department_default_is_refused_too() -> None:
    with pytest.raises(SkippableRecordError, match="severity_default"):
        severity_of({}, department_default="很严重")


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("  ", None), ("轻微", Severity.MINOR), ("Serious", Severity.SERIOUS),
    (2, Severity.GENERAL),
])
def test_parse_severity(value: object, expected: Severity | None) -> None:
    assert parse_severity(value) is expected
