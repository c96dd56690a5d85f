"""Held back from publication: natural persons under 18 on the decision date, configured rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from creditsync.exceptions import ConfigurationError
from creditsync.publication.protection import (
    MINOR_REASON,
    HoldBackRule,
    age_on,
    birth_date,
    hold_back_error,
    hold_back_reason,
    parse_hold_back_rules,
)

BORN_2009_06_15 = "370102200906150012"  # 18 characters: 17 on 2026-06-14, 17 until 2027-06-14
BORN_1990 = "370102199001011234"
OLD_15_BORN_1975 = "370102750315123"  # 15 characters: 1975-03-15


def _person(number: str, decided: str, **extra: Any) -> dict[str, Any]:
    return {"CF_XDR_LB": "自然人", "CF_XDR_ZJLX": "身份证", "CF_XDR_ZJHM": number, "CF_JDRQ": decided,
            **extra}


@pytest.mark.parametrize(("number", "born"), [
    (BORN_2009_06_15, date(2009, 6, 15)),
    (BORN_1990, date(1990, 1, 1)),
    (OLD_15_BORN_1975, date(1975, 3, 15)),
    ("913701027986772040", None),  # no date in it (a USCC-like number of 18 characters)
    ("37010220090230001X", None),  # 30 February
    ("E12345678", None),  # a passport
])
def test_birth_date(number: str, born: date | None) -> None:
    assert birth_date(number) == born


@pytest.mark.parametrize(("born", "day", "age"), [
    (date(2009, 6, 15), date(2027, 6, 14), 17),
    (date(2009, 6, 15), date(2027, 6, 15), 18),
    (date(2008, 2, 29), date(2026, 2, 28), 17),
    (date(2008, 2, 29), date(2026, 3, 1), 18),
])
def test_age_on(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


@pytest.mark.parametrize(("category", "record", "reason"), [
    ("penalty", _person(BORN_2009_06_15, "2026-05-01"), MINOR_REASON),  # 16
    ("penalty", _person(BORN_2009_06_15, "2027-06-14"), MINOR_REASON),  # 17 on the decision date
    ("penalty", _person(BORN_2009_06_15, "2027-06-15"), None),  # 18 that day
    ("penalty", _person(BORN_1990, "2026-05-01"), None),
    ("penalty", _person(OLD_15_BORN_1975, "2026-05-01"), None),
    ("penalty", _person("370102201003010015", "2026-05-01", CF_XDR_ZJLX="外国人永久居留身份证"),
     MINOR_REASON),
    # a resident ID number filed as a passport still carries the birth date
    ("penalty", _person(BORN_2009_06_15, "2026-05-01", CF_XDR_ZJLX="护照"), MINOR_REASON),
    ("penalty", _person("E12345678", "2026-05-01", CF_XDR_ZJLX="护照"), None),  # a passport number: none
    # a 个体工商户 is judged by its operator (CF_FR_ZJHM), not by the subject's fields
    ("penalty", {**_person(BORN_2009_06_15, "2026-05-01"), "CF_XDR_LB": "个体工商户"}, None),
    ("penalty", {"CF_XDR_LB": "个体工商户", "CF_FR_ZJLX": "身份证", "CF_FR_ZJHM": BORN_2009_06_15,
                 "CF_JDRQ": "2026-05-01"}, MINOR_REASON),
    ("penalty", _person("USA310905120012", "2026-05-01", CF_XDR_ZJLX="外国人永久居留身份证"),
     MINOR_REASON),  # the card before 2023: born 2009-05-12, not 1909
    ("license", {"XK_XDR_LB": "自然人", "XK_XDR_ZJLX": "身份证", "XK_XDR_ZJHM": BORN_2009_06_15,
                 "XK_JDRQ": "2026-05-01"}, MINOR_REASON),
    ("penalty", _person("370102201501010011", ""), MINOR_REASON),  # no date: a minor today
])
def test_minors_are_held_back(category: str, record: dict[str, Any], reason: str | None) -> None:
    assert hold_back_reason(category, record) == reason


SECRECY = HoldBackRule(field="CF_SFSM", values=frozenset({"是", "1"}), reason="涉及国家秘密不予公示")


@pytest.mark.parametrize(("record", "reason"), [
    ({"CF_SFSM": "是"}, "涉及国家秘密不予公示"),
    ({"CF_SFSM": " 1 "}, "涉及国家秘密不予公示"),
    ({"CF_SFSM": "否"}, None),
    ({}, None),
    (_person(BORN_2009_06_15, "2026-05-01", CF_SFSM="是"), MINOR_REASON),  # the minor rule comes first
])
def test_configured_rules_hold_back(record: dict[str, Any], reason: str | None) -> None:
    assert hold_back_reason("penalty", record, [SECRECY]) == reason


def test_parse_hold_back_rules_per_category() -> None:
    rules = parse_hold_back_rules({"penalty": [{"field": "CF_SFSM", "values": ["是", 1],
                                                "reason": "涉及国家秘密不予公示"}]})
    assert rules["penalty"][0].values == frozenset({"是", "1"})
    assert hold_back_reason("penalty", {"CF_SFSM": "1"}, rules["penalty"]) == "涉及国家秘密不予公示"


@pytest.mark.parametrize(("entry", "names"), [
    ({"field": "cf_sfsm", "values": ["是"], "reason": "x"}, "field"),
    ({"field": "CF_SFSM", "values": [], "reason": "x"}, "values"),
    ({"field": "CF_SFSM", "values": ["是"]}, "reason"),
    ({"field": "CF_SFSM", "values": ["是"], "reason": "x", "when": "y"}, "when"),
])
def test_a_bad_hold_back_rule_is_a_configuration_error_naming_the_key(entry: dict[str, Any],
                                                                       names: str) -> None:
    with pytest.raises(ConfigurationError, match=names) as caught:
        parse_hold_back_rules({"penalty": [entry]}, source="adapters/health.yaml")
    assert "adapters/health.yaml" in str(caught.value) and "penalty" in str(caught.value)


def test_the_quarantine_entry_names_the_deciding_field() -> None:
    minor = hold_back_error("penalty", _person(BORN_2009_06_15, "2026-05-01"))
    assert minor is not None
    assert (minor.field, minor.message_zh) == ("CF_XDR_ZJHM", MINOR_REASON)
    secret = hold_back_error("penalty", {"CF_SFSM": "是"}, [SECRECY])
    assert secret is not None
    assert (secret.field, secret.message_zh) == ("CF_SFSM", "涉及国家秘密不予公示")
    assert hold_back_error("penalty", _person(BORN_1990, "2026-05-01"), [SECRECY]) is None
