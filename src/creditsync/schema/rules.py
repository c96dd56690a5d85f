"""Cross-field rules (reference §6), named in the category YAML so new categories reuse them as data.

A rule reads the fields that parsed and reports into :class:`Findings`. Fields that failed to parse are
in ``RuleContext.failed``: rules skip them so one bad value yields one error, not two.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.schema import codetables, identifiers
from creditsync.schema.values import FieldSpec


@dataclass
class Findings:
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    def error(self, code: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(code, zh, en))

    def add(self, code: str, problem: identifiers.Problem) -> None:
        target = self.warnings if problem.warning else self.errors
        target.append(FieldError(code, problem.message_zh, problem.message_en))


@dataclass(frozen=True)
class RuleContext:
    values: Mapping[str, Any]  # field code -> canonical value, only fields that are set and valid
    failed: frozenset[str]
    fields: Mapping[str, FieldSpec]
    today: date

    def has(self, code: str) -> bool:
        return code in self.values

    def unknown(self, code: str) -> bool:
        """True when the field was given but is invalid: its presence is known, its value is not."""
        return code in self.failed


RuleFn = Callable[..., None]


def not_future(ctx: RuleContext, out: Findings, *, field: str) -> None:
    """Decision dates may not be after today (Asia/Shanghai)."""
    value = ctx.values.get(field)
    if isinstance(value, date) and value > ctx.today:
        spec = ctx.fields[field]
        out.error(field, f"{spec.title}不能大于当前日期", f"{spec.title_en} must not be in the future")


def date_order(ctx: RuleContext, out: Findings, *, start: str, end: str, severity: str = "error") -> None:
    """``start`` ≤ ``end``; the error is reported on ``end``."""
    first, last = ctx.values.get(start), ctx.values.get(end)
    if isinstance(first, date) and isinstance(last, date) and last < first:
        s, e = ctx.fields[start], ctx.fields[end]
        problem = identifiers.Problem(
            f"{e.title}不能早于{s.title}",
            f"{e.title_en} must not be before {s.title_en}",
            severity == "warning",
        )
        out.add(end, problem)


def required_if_tag(
    ctx: RuleContext,
    out: Findings,
    *,
    field: str,
    source: str,
    tag: str,
    when_zh: str,
    when_en: str,
    severity: str = "error",
) -> None:
    """``field`` is required when a code in the multi-value ``source`` carries ``tag``."""
    value, spec = ctx.values.get(source), ctx.fields[source]
    if not isinstance(value, str) or ctx.has(field) or ctx.unknown(field) or spec.table is None:
        return
    if tag in codetables.tags_of(spec.table, codetables.split_multi(value)):
        target = ctx.fields[field]
        problem = identifiers.Problem(
            f"{when_zh}时，{target.title}不能为空",
            f"{target.title_en} is required when {when_en}",
            severity == "warning",
        )
        out.add(field, problem)


def subject(
    ctx: RuleContext,
    out: Findings,
    *,
    type_field: str,
    by_type: Mapping[str, Mapping[str, Sequence[str]]],
    uscc_field: str,
    placeholder_types: Sequence[str],
    placeholder_requires: str,
    id_pairs: Sequence[Sequence[str]],
    placeholder_severity: str = "error",
) -> None:
    """§6: required/empty fields by 行政相对人类别, the 个体工商户 placeholder, ID numbers by 证件类型.

    ``placeholder_severity`` is how a placeholder USCC without ``placeholder_requires`` is reported
    (``warning`` in the lighter variant for inspections and commitments)."""
    subject_type = ctx.values.get(type_field)
    if isinstance(subject_type, str):
        _required_and_empty(ctx, out, subject_type, by_type.get(subject_type, {}))
        placeholder = _Placeholder(uscc_field, placeholder_types, placeholder_requires, placeholder_severity)
        placeholder.check(ctx, out, subject_type)
    for type_code, number_code in id_pairs:
        _id_number(ctx, out, type_code, number_code)


def _required_and_empty(
    ctx: RuleContext, out: Findings, subject_type: str, rules: Mapping[str, Sequence[str]]
) -> None:
    for code in rules.get("required", ()):
        if not ctx.has(code) and not ctx.unknown(code):
            t = ctx.fields[code]
            out.error(
                code,
                f"行政相对人类别为{subject_type}时，{t.title}不能为空",
                f"{t.title_en} is required when the subject type is {subject_type}",
            )
    for code in rules.get("empty", ()):
        if ctx.has(code) or ctx.unknown(code):
            t = ctx.fields[code]
            out.error(
                code,
                f"行政相对人类别为{subject_type}时，{t.title}应为空",
                f"{t.title_en} must be empty when the subject type is {subject_type}",
            )


@dataclass(frozen=True)
class _Placeholder:
    """The 个体工商户 placeholder USCC: only for ``allowed`` types, and then ``requires`` is needed."""

    uscc_field: str
    allowed: Sequence[str]
    requires: str
    severity: str

    def check(self, ctx: RuleContext, out: Findings, subject_type: str) -> None:
        if ctx.values.get(self.uscc_field) != identifiers.USCC_PLACEHOLDER:
            return
        if subject_type not in self.allowed:
            out.error(
                self.uscc_field,
                f"统一社会信用代码占位符{identifiers.USCC_PLACEHOLDER}仅适用于个体工商户",
                f"the placeholder {identifiers.USCC_PLACEHOLDER} is only allowed for 个体工商户",
            )
        elif not ctx.has(self.requires) and not ctx.unknown(self.requires):
            t = ctx.fields[self.requires]
            problem = identifiers.Problem(
                f"统一社会信用代码为占位符时，{t.title}不能为空",
                f"{t.title_en} is required when the unified social credit code is the placeholder",
                self.severity == "warning",
            )
            out.add(self.requires, problem)


def _id_number(ctx: RuleContext, out: Findings, type_code: str, number_code: str) -> None:
    id_type, number = ctx.values.get(type_code), ctx.values.get(number_code)
    table = ctx.fields[type_code].table
    if not isinstance(id_type, str) or not isinstance(number, str) or table is None:
        return
    check_name = codetables.attribute(table, id_type, "check")
    if check_name:
        for problem in identifiers.ID_CHECKS[check_name](number):
            out.add(number_code, problem)


RULES: dict[str, RuleFn] = {
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

    def run(self, ctx: RuleContext, out: Findings) -> None:
        RULES[self.name](ctx, out, **self.params)


def make_rule(raw: Mapping[str, Any]) -> RuleSpec:
    """Build a rule from YAML, failing early on an unknown name or wrong parameters."""
    params = {k: v for k, v in raw.items() if k != "rule"}
    name = str(raw.get("rule"))
    fn = RULES.get(name)
    if fn is None:
        raise ConfigurationError(f"unknown schema rule {name!r}")
    try:
        inspect.signature(fn).bind(None, None, **params)
    except TypeError as exc:
        raise ConfigurationError(f"schema rule {name!r} has wrong parameters: {exc}") from exc
    return RuleSpec(name, params)
