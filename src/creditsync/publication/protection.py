"""Records held back from publication (reference §8.5): decisions about minors, and per-category rules
a department configures (a secrecy flag, a privacy flag, ...).

A held-back record is never pushed: it goes to the quarantine stage ``protected`` with its reason and
is never counted as invalid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import creditsync.schema as schema  # light: its category files load on first use
from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.publication.display_period import as_date

MINOR_REASON = "未成年人信息不予公示"
ADULT_AGE = 18
NATURAL_PERSON = "自然人"
SOLE_TRADER = "个体工商户"  # its operator (法定代表人/经营者) is a person: a minor's business is a minor's
RESIDENT_ID = "身份证"
PERMANENT_RESIDENCE = "外国人永久居留身份证"
# Any number laid out as GB 11643 carries the birth date at characters 7-14, whatever type it is filed
# under: 身份证, the 2023 permanent residence card, 港澳台居民居住证, or one mistyped as 护照.
_GB11643 = re.compile(r"^[1-9]\d{16}[\dXx]$")
# The permanent residence card before 2023: 3 letters of nationality, 2 digits of the issuing office,
# the birth date as YYMMDD, a 3-digit sequence and a check digit.
_OLD_PERMANENT_RESIDENCE = re.compile(r"^[A-Z]{3}\d{2}(\d{6})\d{4}$")


class HoldBackRule(BaseModel):
    """Hold a record back when ``field`` holds one of ``values``, with ``reason`` (shown in quarantine).

    In configuration: ``{field: CF_SFSM, values: [是, "1"], reason: 涉及国家秘密不予公示}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    field: str = Field(pattern=r"^[A-Z]+(_[A-Z0-9]+)*$")
    values: frozenset[str] = Field(min_length=1)
    reason: str = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return [str(v).strip() for v in value] if isinstance(value, list | tuple | set | frozenset) else value

    def matches(self, record: Mapping[str, Any]) -> bool:
        value = record.get(self.field)
        return value is not None and str(value).strip() in self.values


def parse_hold_back_rules(raw: Mapping[str, Sequence[Mapping[str, Any]]] | None,
                          source: str = "configuration") -> dict[str, tuple[HoldBackRule, ...]]:
    """``{category: [rule, ...]}`` as configured (e.g. under a department's ``publication.hold_back``)."""
    rules: dict[str, tuple[HoldBackRule, ...]] = {}
    for category, entries in (raw or {}).items():
        try:
            rules[category] = tuple(HoldBackRule.model_validate(entry) for entry in entries)
        except (ValidationError, TypeError) as exc:
            raise ConfigurationError(f"{source}: hold-back rules of {category!r} are invalid: {exc}") from exc
    return rules


def birth_date(id_number: str, document: str = RESIDENT_ID, on: date | None = None) -> date | None:
    """The birth date a document number carries, or None: any GB 11643 layout (18 characters), a
    15-digit 身份证 (issued before 1999: 19YY), or a 15-character permanent residence card issued before
    2023 (YYMMDD, in the century that makes the holder younger than the decision ``on``)."""
    number = id_number.strip().upper()
    if _GB11643.match(number):
        return _date(number[6:14])
    if document == RESIDENT_ID and len(number) == 15 and number.isdigit():
        return _date("19" + number[6:12])
    if document == PERMANENT_RESIDENCE and (found := _OLD_PERMANENT_RESIDENCE.match(number)):
        yymmdd, today = found.group(1), on or date.today()
        recent = _date(("20" if int(yymmdd[:2]) <= today.year % 100 else "19") + yymmdd)
        return recent if recent is not None and recent <= today else _date("19" + yymmdd)
    return None


def _date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor_on(id_number: str, day: date, document: str = RESIDENT_ID) -> bool:
    born = birth_date(id_number, document, day)
    return born is not None and age_on(born, day) < ADULT_AGE


def hold_back_reason(category: str, record: Mapping[str, Any],
                     rules: Sequence[HoldBackRule] = ()) -> str | None:
    """Why this canonical record must not be published, or None. ``rules``: the category's configured
    further rules. A natural person under 18 on the decision date is always held back."""
    if _about_a_minor(category, record):
        return MINOR_REASON
    return next((rule.reason for rule in rules if rule.matches(record)), None)


def hold_back_error(category: str, record: Mapping[str, Any],
                    rules: Sequence[HoldBackRule] = ()) -> FieldError | None:
    """:func:`hold_back_reason` as the quarantine entry of stage ``protected``: the field that decided
    it, the reason in Chinese (as configured) and in English."""
    if _about_a_minor(category, record):
        prefix = schema.get_category(category).prefix
        who = "FR" if record.get(f"{prefix}_XDR_LB") == SOLE_TRADER else "XDR"
        return FieldError(f"{prefix}_{who}_ZJHM", MINOR_REASON,
                          "the subject was under 18 on the decision date: not published", kind="held_back")
    rule = next((rule for rule in rules if rule.matches(record)), None)
    if rule is None:
        return None
    return FieldError(rule.field, rule.reason, f"held back by the publication rule on {rule.field}",
                      kind="held_back")


def _about_a_minor(category: str, record: Mapping[str, Any]) -> bool:
    """A natural person, or a 个体工商户 whose operator is one, under 18 on the decision date, by any
    document whose number carries a birth date (and a GB 11643 number filed under any type)."""
    spec = schema.get_category(category)
    prefix = spec.prefix
    people = {NATURAL_PERSON: "XDR", SOLE_TRADER: "FR"}
    who = people.get(str(record.get(f"{prefix}_XDR_LB") or "").strip())
    if who is None:
        return False
    number = record.get(f"{prefix}_{who}_ZJHM")
    document = str(record.get(f"{prefix}_{who}_ZJLX") or RESIDENT_ID).strip()
    # Without a decision date, today: whoever is a minor today was one on any earlier day.
    decided = as_date(record.get(spec.keys.decision_date)) or date.today()
    return isinstance(number, str) and is_minor_on(number, decided, document)
