"""ID numbers are masked everywhere but the push payload; other codes are left alone."""

from __future__ import annotations

import pytest

from creditsync.privacy import mask_id, mask_record, mask_text


@pytest.mark.parametrize(("text", "expected"), [
    ("身份证 11010519491231002X 有误", "身份证 110105********002X 有误"),
    ("110105194912310021", "110105********0021"),  # a wrong check digit is still personal data
    ("联系人370102199001011234，", "联系人370102********1234，"),
    ("914403001922038216", "914403001922038216"),  # an all-digit USCC: positions 7-14 are no date
    ("91370102798677204A", "91370102798677204A"),
    ("11370113004325179R", "11370113004325179R"),
    ("订单号 1101051949123100212", "订单号 1101051949123100212"),  # 19 digits: not an ID number
    ("长市监处罚〔2026〕105号", "长市监处罚〔2026〕105号"),
])
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("370102199001011234", "370102********1234"),
    ("G12345678", "*****5678"),
    ("12345", "*****"),
])
def test_mask_id(value: str, expected: str) -> None:
    assert mask_id(value) == expected


def test_mask_record_by_field_code_and_in_text() -> None:
    record = {"CF_XDR_ZJHM": "H1234567890", "CF_FR_ZJHM": "11010519491231002X",
              "CF_XDR_SHXYM": "914403001922038216", "nested": {"id_no": "11010519491231002X"},
              "list": ["11010519491231002X"]}
    masked = mask_record(record)
    assert masked["CF_XDR_ZJHM"] == "*******7890"
    assert masked["CF_FR_ZJHM"] == "110105********002X"
    assert masked["CF_XDR_SHXYM"] == "914403001922038216"
    assert masked["nested"] == {"id_no": "110105********002X"}
    assert masked["list"] == ["110105********002X"]
