"""ID numbers are masked everywhere but the push payload; other codes are left alone."""

from __future__ import annotations

import pytest

from creditsync.privacy import is_masked, mask_id, mask_record, mask_text


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


@pytest.mark.parametrize(("record", "expected"), [
    ({"CF_XDR_ZJHM": 370102199001011234}, {"CF_XDR_ZJHM": "370102********1234"}),
    ({"CF_FR_ZJHM": 3.70102199001011e17}, {"CF_FR_ZJHM": "370102********1008"}),
    ({"id_no": 370102199001011234}, {"id_no": "370102********1234"}),  # a raw record's own names
    ({"id_no": 370102199001011234.0}, {"id_no": "370102********1264"}),  # digits a float lost
    ({"ids": [370102199001011234, "11010519491231002X"]},
     {"ids": ["370102********1234", "110105********002X"]}),
    ({"rows": [{"sfz": 370102199001011234}]}, {"rows": [{"sfz": "370102********1234"}]}),
    ({"CF_XDR_ZJHM": ["11010519491231002X"]}, {"CF_XDR_ZJHM": ["110105********002X"]}),
    ({"fine": 2000, "ok": True, "rate": 0.5, "none": None},
     {"fine": 2000, "ok": True, "rate": 0.5, "none": None}),
    ({"order": 914403001922038216}, {"order": 914403001922038216}),  # all-digit USCC-like: no date inside
])
def test_mask_record_masks_id_numbers_given_as_numbers_and_inside_lists(record: dict, expected: dict) -> None:
    assert mask_record(record) == expected


@pytest.mark.parametrize(("payload", "masked"), [
    ({"CF_XDR_ZJHM": "370102********1234"}, True),
    ({"list": ["a", "110105********002X"]}, True),  # the copy in reconcile missed lists
    ({"rows": [{"x": "****"}]}, True),
    ([{"CF_FR_ZJHM": "370102********1234"}], True),
    ({"CF_XDR_ZJHM": "370102199001011234"}, False),
    ({"note": "***"}, False),
    ({}, False),
    (None, False),
])
def test_is_masked_finds_a_masked_id_number_at_any_depth(payload: object, masked: bool) -> None:
    assert is_masked(payload) is masked


def test_masking_leaves_what_is_masked_recognises() -> None:
    assert is_masked(mask_record({"CF_XDR_ZJHM": "370102199001011234", "note": "身份证 11010519491231002X"}))
