"""The severity of a penalty (轻微 / 一般 / 严重), which sets its display period (reference §8.2).

Where it comes from, first match wins:

1. a mapped field (the deciding authority's own assessment, e.g. ``CF_SXYZCD``);
2. the department's default (``department_default``: a department whose penalties are all of one kind);
3. a rule on the penalty types and the fine (:class:`SeverityRule`), which always answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from creditsync.exceptions import FieldError, SkippableRecordError

SEVERITY_FIELD = "CF_SXYZCD"  # 失信严重程度: not in the 2021 standard; a department may map it


class Severity(StrEnum):
    MINOR = "轻微"
    GENERAL = "一般"
    SERIOUS = "严重"


# What departments write for each level: the text, the codes 1-3, and English.
_SPELLINGS = {
    Severity.MINOR: ("轻微", "轻微失信", "1", "minor"),
    Severity.GENERAL: ("一般", "一般失信", "2", "general"),
    Severity.SERIOUS: ("严重", "严重失信", "3", "serious"),
}
_BY_SPELLING = {spelling: level for level, spellings in _SPELLINGS.items() for spelling in spellings}

# 行政处罚法 §51: the summary procedure (当场处罚) covers a warning, or a fine up to 200 yuan for a
# natural person and 3,000 yuan for an organisation: the natural line for "minor". Fines are in 万元.
SUMMARY_FINE_NATURAL_PERSON = Decimal("0.02")
SUMMARY_FINE_ORGANISATION = Decimal("0.3")


@dataclass(frozen=True)
class SeverityRule:
    """The fallback rule on the penalty types (``CF_CFLB``) and the fine (``CF_NR_FK``, 万元).

    严重: any type that takes away a licence, a business or a person's liberty, or a fine of at least
    ``serious_fine`` (a local choice the credit office confirms). 轻微: only a warning, a notice of
    criticism or a fine within the summary-procedure limit. Everything else: 一般.
    """

    serious_types: frozenset[str] = frozenset({
        "吊销许可证件", "暂扣或者吊销许可证、暂扣或者吊销执照", "责令关闭", "责令停产停业", "限制从业",
        "行政拘留", "限制开展生产经营活动", "降低资质等级",
    })
    minor_types: frozenset[str] = frozenset({"警告", "通报批评", "罚款"})
    serious_fine: Decimal = Decimal("10")
    fine_field: str = "CF_NR_FK"
    types_field: str = "CF_CFLB"
    subject_type_field: str = "CF_XDR_LB"

    def apply(self, record: Mapping[str, Any]) -> Severity:
        types = _penalty_types(record.get(self.types_field))
        fine = _decimal(record.get(self.fine_field)) or Decimal(0)
        if types & self.serious_types or fine >= self.serious_fine:
            return Severity.SERIOUS
        limit = (SUMMARY_FINE_NATURAL_PERSON if record.get(self.subject_type_field) == "自然人"
                 else SUMMARY_FINE_ORGANISATION)
        if types and types <= self.minor_types and fine <= limit:
            return Severity.MINOR
        return Severity.GENERAL


DEFAULT_RULE = SeverityRule()


def parse_severity(value: Any, *, field_code: str = SEVERITY_FIELD,
                   record_key: str | None = None) -> Severity | None:
    """A mapped or configured severity; None when empty. An unknown word is the record's error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Severity):
        return value
    level = _BY_SPELLING.get(str(value).strip().lower())
    if level is None:
        error = FieldError(field_code, f"失信严重程度“{value}”无法识别，应为轻微、一般或严重",
                           f"unknown severity {value!r}: expected 轻微, 一般 or 严重")
        raise SkippableRecordError(str(error), [error], record_key=record_key)
    return level


def severity_of(record: Mapping[str, Any], *, department_default: Severity | str | None = None,
                rule: SeverityRule = DEFAULT_RULE, field_code: str = SEVERITY_FIELD,
                record_key: str | None = None) -> Severity:
    """The severity of one penalty (canonical payload: standard codes → values)."""
    mapped = parse_severity(record.get(field_code), field_code=field_code, record_key=record_key)
    if mapped is not None:
        return mapped
    default = parse_severity(department_default, field_code="severity_default", record_key=record_key)
    return default or rule.apply(record)


def _penalty_types(value: Any) -> frozenset[str]:
    """``CF_CFLB`` holds several types joined with ';' (or given as a list)."""
    if value is None:
        return frozenset()
    parts: Iterable[Any] = (value if isinstance(value, list | tuple)
                            else str(value).replace("；", ";").split(";"))
    return frozenset(str(part).strip() for part in parts if str(part).strip())


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
