"""Identifier checks (reference §7): USCC, resident ID, foreign permanent resident ID, organisation code.

Checks return a list of :class:`Problem` (empty = valid) instead of raising, because some findings are
only warnings (an unknown birthplace county, a wrong inner organisation-code check digit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import mul

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from creditsync.strict_text import halfwidth

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # GB 32100-2015
_ASCII_DIGITS = frozenset("0123456789")
# 个体工商户 without a USCC: fails the checksum on purpose, accepted only for that subject type (§6).
USCC_PLACEHOLDER = "00000000000000000X"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_OLD_FOREIGN_ID = re.compile(r"^[A-Z0-9]{15}$")


@dataclass(frozen=True)
class Problem:
    message_zh: str
    message_en: str
    warning: bool = False


def compact(value: str) -> str:
    """Strip spaces and hyphens and upper-case: how USCC and ID numbers are stored.

    Full-width forms become ASCII first (``９１３７…`` is the same code). Plain ASCII (nearly every
    value) then takes the short road; anything else goes through stdnum, which also folds Unicode
    dashes and spaces. For ASCII both give the same text: stdnum maps only the backquote to an
    apostrophe there (checked by a test)."""
    value = halfwidth(value)
    if value.isascii():
        return value.replace(" ", "").replace("-", "").replace("`", "'").upper().strip()
    return uscc.compact(value)


def uscc_check_digit(first17: str) -> str:
    """GB 32100 check character of 17 characters of the USCC alphabet."""
    total = sum(map(mul, map(_USCC_VALUES.__getitem__, first17), _USCC_WEIGHTS))
    return USCC_ALPHABET[-total % 31]


def make_uscc(first17: str) -> str:
    """A valid USCC from its first 17 characters (for fixtures and the 92… placeholder-free cases)."""
    body = compact(first17)
    return body + uscc_check_digit(body)


def check_uscc(value: str, *, allow_placeholder: bool = False) -> list[Problem]:
    """GB 32100-2015 check; codes with letters in the first 8 positions are checked by hand. (The same
    legal persons come back in a department's decisions: answers are remembered.)"""
    return list(_check_uscc(value, allow_placeholder))


@lru_cache(maxsize=4096)  # a department's recurring legal persons; bounded: memory stays flat
def _check_uscc(value: str, allow_placeholder: bool) -> tuple[Problem, ...]:
    return tuple(_uscc_problems(value, allow_placeholder))


def _uscc_problems(value: str, allow_placeholder: bool) -> list[Problem]:
    number = compact(value)
    if allow_placeholder and number == USCC_PLACEHOLDER:
        return []
    if len(number) != 18:
        return [Problem("统一社会信用代码应为18位", "the unified social credit code must be 18 characters")]
    # The rules of stdnum's uscc.validate, without its repeated Unicode clean-up of the same text, and
    # also for letters in positions 1-8 (N…, Y…, A… authorities), which stdnum refuses.
    problems = _check_alphabet(number) or _check_digit(number)
    return problems or _org_code_warning(number)


def _check_alphabet(number: str) -> list[Problem]:
    bad = "".join(dict.fromkeys(c for c in number if c not in USCC_ALPHABET))
    if not bad:
        return []
    return [
        Problem(
            f"统一社会信用代码含有非法字符：{bad}（不得使用I、O、S、V、Z）",
            f"the unified social credit code contains invalid characters: {bad} (I, O, S, V, Z are not used)",
        )
    ]


def _check_digit(number: str) -> list[Problem]:
    expected = uscc_check_digit(number[:17])
    if number[17] == expected:
        return []
    return [
        Problem(
            f"统一社会信用代码校验位错误，应为{expected}",
            f"check digit of the unified social credit code is wrong, expected {expected}",
        )
    ]


def org_code_check_digit(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True))
    digit = 11 - total % 11
    return {10: "X", 11: "0"}.get(digit, str(digit))


def _org_code_warning(number: str) -> list[Problem]:
    # Positions 9-17 embed a GB 11714 code; some issued USCCs break its check, so only warn (§7.1).
    body, check = number[8:16], number[16]
    if not body.isalnum() or org_code_check_digit(body) == check:
        return []
    return [
        Problem(
            "统一社会信用代码中的组织机构代码校验位不符",
            "the organisation code inside the unified social credit code has a wrong check digit",
            warning=True,
        )
    ]


def check_resident_id(value: str) -> list[Problem]:
    """GB 11643 居民身份证号码: checksum and birth date are errors; unknown county only a warning."""
    number = compact(value)
    if len(number) != 18 or not _ascii_digits(number[:17]) or number[17] not in "0123456789X":
        return [Problem("身份证号码应为18位（末位可为X）", "the resident ID number must be 18 characters")]
    expected = _gb11643_check_digit(number)
    if number[17] != expected:
        zh = f"身份证号码校验位错误，应为{expected}"
        return [Problem(zh, f"check digit of the ID number is wrong, expected {expected}")]
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born > date.today():
        return [Problem("身份证号码中的出生日期无效", "the birth date in the ID number is invalid")]
    if _known_birthplace(number[:6], born.year):
        return []
    return [
        Problem(
            f"身份证号码的地址码{number[:6]}未能识别",
            f"the address code {number[:6]} of the ID number is not recognised",
            warning=True,
        )
    ]


def _ascii_digits(text: str) -> bool:
    """Only 0-9: ``str.isdigit`` also accepts full-width, Arabic-Indic and superscript digits."""
    return bool(text) and _ASCII_DIGITS.issuperset(text)


def _gb11643_check_digit(number: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits (stdnum's ric.calc_check_digit, same arithmetic)."""
    checksum = (1 - 2 * int(number[:17], 13)) % 11
    return "X" if checksum == 10 else str(checksum)


@lru_cache(maxsize=4096)
def _known_birthplace(area: str, year: int) -> bool:
    """Whether stdnum's county table knows the address code for that birth year. The answer depends on
    nothing else, so it is asked once per (code, year): the table lookup is the slow part of the check.
    The table lags behind new and renamed counties, so an unknown code is only a warning (§7.2); it
    raises KeyError for codes it knows only down to city level."""
    try:
        ric.get_birth_place(f"{area}{year:04d}01010000")
    except (stdnum_errors.ValidationError, LookupError):
        return False
    return True


def check_foreign_permanent_id(value: str) -> list[Problem]:
    """外国人永久居留身份证: since Dec 2023 18 characters starting with 9 (GB 11643 checksum); older 15."""
    number = compact(value)
    if len(number) == 15 and _OLD_FOREIGN_ID.match(number):
        return []
    if len(number) != 18 or number[0] != "9" or not _ascii_digits(number[:17]):
        return [
            Problem(
                "外国人永久居留身份证号码应为以9开头的18位或旧版15位",
                "the foreign permanent resident ID must be 18 characters starting with 9, or 15 (old cards)",
            )
        ]
    expected = _gb11643_check_digit(number)
    if number[17] != expected:
        return [
            Problem(
                f"外国人永久居留身份证号码校验位错误，应为{expected}",
                f"check digit of the foreign permanent resident ID is wrong, expected {expected}",
            )
        ]
    return []


# Named in codes/id_type.yaml (`check:`), so a new document type is wired up by data.
ID_CHECKS: dict[str, Callable[[str], list[Problem]]] = {
    "resident_id": check_resident_id,
    "foreign_permanent_id": check_foreign_permanent_id,
}
