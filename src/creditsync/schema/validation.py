"""``validate_record``: raw mapping in, canonical record or every field error out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from creditsync.exceptions import ConfigurationError, FieldError
from creditsync.schema.record import CONTEXT_KEY, FIELD_ERROR, RULES_ERROR, CanonicalRecord
from creditsync.schema.spec import CategorySpec, load_categories
from creditsync.schema.values import FieldProblem, ParseContext, parse_value, shanghai_today

CATEGORIES: dict[str, CategorySpec] = load_categories()


@dataclass
class ValidationResult:
    """``record`` is set only when there is no error; ``warnings`` never block a record."""

    record: CanonicalRecord | None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors


def get_category(category: str) -> CategorySpec:
    try:
        return CATEGORIES[category]
    except KeyError:
        known = ", ".join(sorted(CATEGORIES))
        message = f"unknown category {category!r} (known: {known})"
        raise ConfigurationError(message, category=category) from None


def field_codes(category: str) -> list[str]:
    """Standard field codes in standard order (the CSV/XLSX template headers)."""
    return get_category(category).codes


def field_titles(category: str) -> dict[str, str]:
    """Standard field code → Chinese name (名称)."""
    return {f.code: f.title for f in get_category(category).fields}


def validate_record(category: str, data: Mapping[str, Any], *, today: date | None = None) -> ValidationResult:
    """Validate one record given by standard codes; strings as from CSV ("" = missing) or native values."""
    spec = get_category(category)
    known, errors = _known_fields(spec, data)
    ctx = ParseContext(today=today or shanghai_today())
    try:
        record = spec.model.model_validate(known, context={CONTEXT_KEY: ctx})
    except ValidationError as exc:
        errors += errors_from_validation(exc, spec)
        if not any(e["type"] == RULES_ERROR for e in exc.errors()):
            errors += _rules_on_valid_fields(spec, known, ctx)  # pydantic skipped them: fields failed
        return ValidationResult(None, _in_field_order(spec, errors), ctx.warnings)
    return ValidationResult(None if errors else record, _in_field_order(spec, errors), ctx.warnings)


def _known_fields(spec: CategorySpec, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Input keyed by standard code (attribute names accepted too); unknown keys are errors."""
    known: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        code = str(key).strip().upper()
        if code in spec.by_code:
            known[code] = value
        else:
            errors.append(_unknown_field(str(key), spec))
    return known, errors


def _unknown_field(key: str, spec: CategorySpec) -> FieldError:
    zh = f"未知字段：{key}（{spec.title_zh}）"
    return FieldError(key, zh, f"unknown field {key} in category {spec.name}")


def _rules_on_valid_fields(
    spec: CategorySpec, known: Mapping[str, Any], ctx: ParseContext
) -> list[FieldError]:
    """Cross-field rules over the fields that parse, so a record's errors are reported all at once."""
    values: dict[str, Any] = {}
    failed: set[str] = set()
    scratch = ParseContext(today=ctx.today)  # warnings of these fields were already collected
    for code, raw in known.items():
        try:
            values[code] = parse_value(spec.by_code[code], raw, scratch)
        except FieldProblem:
            failed.add(code)
    findings = spec.check(values, frozenset(failed), ctx.today)
    ctx.warnings.extend(findings.warnings)
    return findings.errors


def errors_from_validation(exc: ValidationError, spec: CategorySpec) -> list[FieldError]:
    """Pydantic errors → ``FieldError``s named by standard code (loc may be the alias or attribute)."""
    errors: list[FieldError] = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        if err["type"] == RULES_ERROR:
            errors.extend(ctx["errors"])
            continue
        code = str(err["loc"][0]).upper() if err["loc"] else spec.name
        errors.append(_field_error(spec, code, err["type"], ctx, err["msg"]))
    return errors


def _field_error(spec: CategorySpec, code: str, kind: str, ctx: Mapping[str, Any], msg: str) -> FieldError:
    if kind == FIELD_ERROR:
        return FieldError(code, str(ctx["zh"]), str(ctx["en"]))
    field_spec = spec.by_code.get(code)
    if field_spec is None:
        return _unknown_field(code, spec)
    if kind == "missing":
        return FieldError(code, f"{field_spec.title}不能为空", f"{field_spec.title_en} must not be empty")
    return FieldError(code, f"{field_spec.title}格式错误", f"{field_spec.title_en} is invalid: {msg}")


def _in_field_order(spec: CategorySpec, errors: list[FieldError]) -> list[FieldError]:
    order = {code: i for i, code in enumerate(spec.codes)}
    return sorted(errors, key=lambda e: order.get(e.field, len(order)))
