"""Identifier checks (reference §7): public vectors, letter-prefixed USCCs, placeholder, ID numbers."""

from __future__ import annotations

import pytest
from schema_factories import foreign_permanent_id, resident_id, uscc_for, wrong_check
from stdnum.cn import ric, uscc

from creditsync.schema.identifiers import (
    USCC_PLACEHOLDER,
    check_foreign_permanent_id,
    check_resident_id,
    check_uscc,
    make_uscc,
)


def errors(problems: list) -> list[str]:
    return [p.message_zh for p in problems if not p.warning]


def warnings(problems: list) -> list[str]:
    return [p.message_zh for p in problems if p.warning]


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038216",  # 华为技术有限公司
        "91330100716105852F",  # 阿里巴巴（中国）网络技术有限公司
        "91100000100003962T",  # 中国工商银行股份有限公司
        "91370102798677204A",  # 山东新中天信息技术股份有限公司
        " 9137 0102 7986 7720 4a ",  # spaces and lower case are normalised
    ],
)
def test_public_valid_uscc_vectors(code: str) -> None:
    assert check_uscc(code) == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("914403001922038217", "统一社会信用代码校验位错误，应为6"),
        ("91100000100003962A", "统一社会信用代码校验位错误，应为T"),
        ("91110108551385O82Q", "统一社会信用代码含有非法字符：O（不得使用I、O、S、V、Z）"),
        ("9144030019220382", "统一社会信用代码应为18位"),
        ("9144030019220382161", "统一社会信用代码应为18位"),
    ],
)
def test_public_invalid_uscc_vectors(code: str, message: str) -> None:
    assert errors(check_uscc(code)) == [message]


def test_check_digit_error_message_in_english() -> None:
    [problem] = check_uscc("914403001922038217")
    assert problem.message_en == "check digit of the unified social credit code is wrong, expected 6"


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letters_are_rejected(letter: str) -> None:
    code = "91370102MA3C4F7Q3G"
    bad = code[:10] + letter + code[11:]
    assert errors(check_uscc(bad)) == [f"统一社会信用代码含有非法字符：{letter}（不得使用I、O、S、V、Z）"]


@pytest.mark.parametrize("prefix8", ["N2370102", "Y1370102", "A1370102", "NA370102"])
def test_letter_prefixed_uscc_checked_by_hand(prefix8: str) -> None:
    code = uscc_for(prefix8, "12345678")
    assert not uscc.is_valid(code)  # stdnum refuses it: the code path under test is ours
    assert check_uscc(code) == []
    expected = code[-1]
    assert errors(check_uscc(wrong_check(code))) == [f"统一社会信用代码校验位错误，应为{expected}"]


def test_make_uscc_appends_the_gb32100_check_digit() -> None:
    assert make_uscc("91440300192203821") == "914403001922038216"


@pytest.mark.parametrize(
    ("allow", "expected"),
    [(True, []), (False, ["统一社会信用代码校验位错误，应为0"])],
)
def test_placeholder_accepted_only_when_allowed(allow: bool, expected: list[str]) -> None:
    assert errors(check_uscc(USCC_PLACEHOLDER, allow_placeholder=allow)) == expected


def test_wrong_inner_organisation_code_is_only_a_warning() -> None:
    code = make_uscc("91370102" + "12345678" + "0")  # GB 11714 check of 12345678 is 8, not 0
    problems = check_uscc(code)
    assert errors(problems) == []
    assert warnings(problems) == ["统一社会信用代码中的组织机构代码校验位不符"]


@pytest.mark.parametrize(
    ("number", "problems"),
    [
        ("11010519491231002X", []),
        ("11010519491231002x", []),
        ("110105194912310021", ["身份证号码校验位错误，应为X"]),
        (resident_id("37010219900101123"), []),
        (resident_id("37010220250230123"), ["身份证号码中的出生日期无效"]),  # 30 February
        (resident_id("37010219901301123"), ["身份证号码中的出生日期无效"]),  # month 13
        (resident_id("37010221990101123"), ["身份证号码中的出生日期无效"]),  # born in 2199
        ("11010549123100", ["身份证号码应为18位（末位可为X）"]),
        ("1101051949123100XX", ["身份证号码应为18位（末位可为X）"]),
    ],
)
def test_resident_id_errors(number: str, problems: list[str]) -> None:
    assert errors(check_resident_id(number)) == problems


def _stdnum_accepts(number: str) -> bool:
    try:
        return bool(ric.validate(number))
    except Exception:  # ValidationError, or KeyError for city-level codes (a stdnum bug)
        return False


@pytest.mark.parametrize(
    "first17",
    ["37019919900101123", "37010219750101123"],  # unknown county; 历下区 code before it was assigned
)
def test_unknown_birthplace_county_is_only_a_warning(first17: str) -> None:
    number = resident_id(first17)
    assert not _stdnum_accepts(number)  # stdnum alone would reject these
    problems = check_resident_id(number)
    assert errors(problems) == []
    assert warnings(problems) == [f"身份证号码的地址码{number[:6]}未能识别"]


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        (foreign_permanent_id("93715619900101123"), True),  # 2023 format: 18 characters starting with 9
        (wrong_check(foreign_permanent_id("93715619900101123")), False),
        (foreign_permanent_id("83715619900101123"), False),  # 18 characters must start with 9
        ("USA310190010123", True),  # older 15-character cards
        ("USA3101900101", False),
    ],
)
def test_foreign_permanent_resident_id(number: str, ok: bool) -> None:
    assert (errors(check_foreign_permanent_id(number)) == []) is ok
