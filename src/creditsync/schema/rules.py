"""Cross-field rules (reference §6), named in the category YAML so new categories reuse them as data.

A rule reads the fields that parsed and reports into :class:`Findings`. Fields that failed to parse are
in ``failed``: rules skip them so one bad value yields one error, not two.

Each rule is a factory: given the category's fields and the rule's parameters from the YAML, it returns
the :data:`Check` run for every record, with its field titles and messages already written out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.schema import codetables, identifiers
from creditsync.schema.values import FieldDefinition


class Findings:
    """The errors and warnings the rules found in one record."""

    __slots__ = ("errors", "warnings")

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.warnings: list[FieldError] = []

    def error(self, code: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(code, zh, en))

    def add(self, code: str, problem: identifiers.Problem) -> None:
        target = self.warnings if problem.warning else self.errors
        target.append(FieldError(code, problem.message_zh, problem.message_en))


Values = Mapping[str, Any]  # field code -> canonical value, only fields that are set and valid
Check = Callable[[Values, Collection[str], date, Findings], None]
"""``check(values, failed, today, out)``: one rule over one record."""
Fields = Mapping[str, FieldDefinition]


def not_future(fields: Fields, *, field: str) -> Check:
    """Decision dates may not be after today (Asia/Shanghai)."""
    spec = fields[field]
    zh, en = f"{spec.title}不能大于当前日期", f"{spec.title_en} must not be in the future"

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        value = values.get(field)
        if isinstance(value, date) and value > today:
            out.error(field, zh, en)

    return check


def date_order(fields: Fields, *, start: str, end: str, severity: str = "error") -> Check:
    """``start`` ≤ ``end``; the error is reported on ``end``."""
    s, e = fields[start], fields[end]
    problem = identifiers.Problem(
        f"{e.title}不能早于{s.title}", f"{e.title_en} must not be before {s.title_en}", severity == "warning"
    )

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        first, last = values.get(start), values.get(end)
        if isinstance(first, date) and isinstance(last, date) and last < first:
            out.add(end, problem)

    return check


def required_if_tag(
    fields: Fields,
    *,
    field: str,
    source: str,
    tag: str,
    when_zh: str,
    when_en: str,
    severity: str = "error",
) -> Check:
    """``field`` is required when a code in the multi-value ``source`` carries ``tag``."""
    table, target = fields[source].table, fields[field]
    problem = identifiers.Problem(
        f"{when_zh}时，{target.title}不能为空",
        f"{target.title_en} is required when {when_en}",
        severity == "warning",
    )

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        value = values.get(source)
        if not isinstance(value, str) or field in values or field in failed or table is None:
            return
        if tag in codetables.tags_of_joined(table, value):
            out.add(field, problem)

    return check


def subject(
    fields: Fields,
    *,
    type_field: str,
    by_type: Mapping[str, Mapping[str, Sequence[str]]],
    uscc_field: str,
    placeholder_types: Sequence[str],
    placeholder_requires: str,
    id_pairs: Sequence[Sequence[str]],
    placeholder_severity: str = "error",
) -> Check:
    """§6: required/empty fields by 行政相对人类别, the 个体工商户 placeholder, ID numbers by 证件类型.

    ``placeholder_severity`` is how a placeholder USCC without ``placeholder_requires`` is reported
    (``warning`` in the lighter variant for inspections and commitments)."""
    by_subject_type = {kind: _required_and_empty(fields, kind, rules) for kind, rules in by_type.items()}
    placeholder = _placeholder(
        fields, uscc_field, placeholder_types, placeholder_requires, placeholder_severity
    )
    id_checks = [_id_number(fields, type_code, number_code) for type_code, number_code in id_pairs]

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        subject_type = values.get(type_field)
        if isinstance(subject_type, str):
            required_and_empty = by_subject_type.get(subject_type)
            if required_and_empty is not None:
                required_and_empty(values, failed, today, out)
            if values.get(uscc_field) == identifiers.USCC_PLACEHOLDER:
                placeholder(values, failed, subject_type, out)
        for id_check in id_checks:
            id_check(values, failed, today, out)

    return check


def _required_and_empty(fields: Fields, subject_type: str, rules: Mapping[str, Sequence[str]]) -> Check:
    required = [
        (
            code,
            f"行政相对人类别为{subject_type}时，{fields[code].title}不能为空",
            f"{fields[code].title_en} is required when the subject type is {subject_type}",
        )
        for code in rules.get("required", ())
    ]
    empty = [
        (
            code,
            f"行政相对人类别为{subject_type}时，{fields[code].title}应为空",
            f"{fields[code].title_en} must be empty when the subject type is {subject_type}",
        )
        for code in rules.get("empty", ())
    ]

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        for code, zh, en in required:
            if code not in values and code not in failed:
                out.error(code, zh, en)
        for code, zh, en in empty:
            if code in values or code in failed:
                out.error(code, zh, en)

    return check


def _placeholder(
    fields: Fields, uscc_field: str, allowed: Sequence[str], requires: str, severity: str
) -> Callable[[Values, Collection[str], str, Findings], None]:
    """The 个体工商户 placeholder USCC: only for ``allowed`` types, and then ``requires`` is needed."""
    placeholder = identifiers.USCC_PLACEHOLDER
    wrong_type = (
        f"统一社会信用代码占位符{placeholder}仅适用于个体工商户",
        f"the placeholder {placeholder} is only allowed for 个体工商户",
    )
    t = fields[requires]
    missing = identifiers.Problem(
        f"统一社会信用代码为占位符时，{t.title}不能为空",
        f"{t.title_en} is required when the unified social credit code is the placeholder",
        severity == "warning",
    )

    def check(values: Values, failed: Collection[str], subject_type: str, out: Findings) -> None:
        if subject_type not in allowed:
            out.error(uscc_field, *wrong_type)
        elif requires not in values and requires not in failed:
            out.add(requires, missing)

    return check


def _id_number(fields: Fields, type_code: str, number_code: str) -> Check:
    table = fields[type_code].table

    def check(values: Values, failed: Collection[str], today: date, out: Findings) -> None:
        id_type, number = values.get(type_code), values.get(number_code)
        if not isinstance(id_type, str) or not isinstance(number, str) or table is None:
            return
        check_name = _check_name(table, id_type)
        if check_name:
            for problem in identifiers.ID_CHECKS[check_name](number):
                out.add(number_code, problem)

    return check


@lru_cache(maxsize=256)
def _check_name(table: str, id_type: str) -> str | None:
    """The identifier check of a document type (``check:`` in the code table), remembered."""
    name = codetables.attribute(table, id_type, "check")
    return None if name is None else str(name)


RuleFactory = Callable[..., Check]
RULES: dict[str, RuleFactory] = {
    "not_future": not_future,
    "date_order": date_order,
    "required_if_tag": required_if_tag,
    "subject": subject,
}


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a category: a name from :data:`RULES` and its keyword parameters."""

    name: str
    params: Mapping[str, Any]

    def compile(self, fields: Fields) -> Check:
        """The check for one category's fields (its field references were verified when it loaded)."""
        return RULES[self.name](fields, **self.params)


def make_rule(raw: Mapping[str, Any]) -> RuleSpec:
    """Build a rule from YAML, failing early on an unknown name or wrong parameters."""
    params = {k: v for k, v in raw.items() if k != "rule"}
    name = str(raw.get("rule"))
    fn = RULES.get(name)
    if fn is None:
        raise ConfigurationError(f"unknown schema rule {name!r}")
    try:
        inspect.signature(fn).bind(None, **params)
    except TypeError as exc:
        raise ConfigurationError(f"schema rule {name!r} has wrong parameters: {exc}") from exc
    return RuleSpec(name, params)
