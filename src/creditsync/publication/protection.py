"""Records held back from publication (reference §8.5): decisions about minors, and per-category rules
a department configures (a secrecy flag, a privacy flag, ...).

A held-back record is never pushed: it goes to the quarantine stage ``protected`` with its reason and
is never counted as invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.publication.display_period import as_date
from creditsync.schema import get_category

MINOR_REASON = "未成年人信息不予公示"
ADULT_AGE = 18
NATURAL_PERSON = "自然人"
# Documents whose number carries the birth date at characters 7-14 (15-character 身份证: 7-12, 19YY).
BIRTH_DATE_DOCUMENTS = frozenset({"身份证", "外国人永久居留身份证"})


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


def birth_date(id_number: str) -> date | None:
    """The birth date in an 18-character (GB 11643, and the 2023 permanent residence card) or a
    15-character ID number; None when there is no valid date in it."""
    number = id_number.strip()
    if len(number) == 18:
        text = number[6:14]
    elif len(number) == 15:
        text = "19" + number[6:12]
    else:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor_on(id_number: str, day: date) -> bool:
    born = birth_date(id_number)
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
        return FieldError(f"{get_category(category).prefix}_XDR_ZJHM", MINOR_REASON,
                          "the subject was under 18 on the decision date: not published")
    rule = next((rule for rule in rules if rule.matches(record)), None)
    if rule is None:
        return None
    return FieldError(rule.field, rule.reason, f"held back by the publication rule on {rule.field}")


def _about_a_minor(category: str, record: Mapping[str, Any]) -> bool:
    spec = get_category(category)
    prefix = spec.prefix
    if record.get(f"{prefix}_XDR_LB") != NATURAL_PERSON:
        return False
    if str(record.get(f"{prefix}_XDR_ZJLX") or "").strip() not in BIRTH_DATE_DOCUMENTS:
        return False
    # Without a decision date, today: whoever is a minor today was one on any earlier day.
    decided = as_date(record.get(spec.keys.decision_date)) or date.today()
    number = record.get(f"{prefix}_XDR_ZJHM")
    return isinstance(number, str) and is_minor_on(number, decided)
