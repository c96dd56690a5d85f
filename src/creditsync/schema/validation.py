"""``validate_record``: raw mapping in, canonical record or every field error out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from creditsync.exceptions import FieldError
from creditsync.schema.catalogue import CATEGORIES, field_codes, field_titles, get_category
from creditsync.schema.category import CategorySpec
from creditsync.schema.record import FIELD_ERROR, RULES_ERROR, WIRE_PAYLOAD, CanonicalRecord, format_decimal
from creditsync.schema.rules import Findings
from creditsync.schema.values import FieldDefinition, FieldProblem, field_parser, shanghai_today

__all__ = ["CATEGORIES", "RecordValidator", "ValidationResult", "errors_from_validation", "field_codes",
           "field_titles", "get_category", "record_validator", "validate_record"]


@dataclass
class ValidationResult:
    """``record`` is set only when there is no error; ``warnings`` never block a record."""

    record: CanonicalRecord | None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors


def validate_record(category: str, data: Mapping[str, Any], *, today: date | None = None) -> ValidationResult:
    """Validate one record given by standard codes; strings as from CSV ("" = missing) or native values."""
    return record_validator(category).validate(data, today=today)


def record_validator(category: str) -> RecordValidator:
    """The compiled validator of a category (built once per category)."""
    validator = _VALIDATORS.get(category)
    if validator is None:
        validator = _VALIDATORS[category] = RecordValidator(get_category(category))
    return validator


class RecordValidator:
    """A category's fields and rules, compiled once: each field's parser with its messages written
    out, the rules, and a record built from the checked values without a second validation pass.

    The pydantic model (``spec.model``) runs the same parsers and rules; this path only skips what the
    result does not need (pydantic re-checking the types the parsers return)."""

    def __init__(self, spec: CategorySpec) -> None:
        self.spec = spec
        self._parsers = tuple((f.code, f.name, field_parser(f)) for f in spec.fields)
        self._names = tuple(f.name for f in spec.fields)
        self._name_of = {f.code: f.name for f in spec.fields}
        self._required = {f.code: _missing(f) for f in spec.fields if f.requirement == "required"}
        self._wire = tuple((f.code, _WIRE[f.kind]) for f in spec.fields if f.kind in _WIRE)
        self._known = frozenset(spec.by_code)

    def validate(self, data: Mapping[str, Any], *, today: date | None = None) -> ValidationResult:
        known, errors = self._known_fields(data)
        if not self._required.keys() <= known.keys():
            errors += [missing for code, missing in self._required.items() if code not in known]
        warnings: list[FieldError] = []
        values: dict[str, Any] = {}  # code → canonical value, set fields only, in standard order
        attributes = dict.fromkeys(self._names)
        failed: set[str] = set()
        for code, name, parse in self._parsers:
            raw = known.get(code, _ABSENT)
            if raw is _ABSENT:
                continue
            try:
                value = parse(raw, warnings)
            except FieldProblem as problem:
                errors.append(FieldError(code, problem.message_zh, problem.message_en))
                failed.add(code)
                continue
            if value is not None:
                values[code] = attributes[name] = value
        findings = Findings()
        reference_day = today or shanghai_today()
        for check in self.spec.checks:
            check(values, failed, reference_day, findings)
        warnings += findings.warnings
        if errors or findings.errors:
            errors += findings.errors
            return ValidationResult(None, _in_field_order(self.spec, errors), warnings)
        attributes[WIRE_PAYLOAD] = self._payload(values)
        fields_set = set(map(self._name_of.__getitem__, known))
        return ValidationResult(self.spec.model.from_checked(attributes, fields_set), [], warnings)

    def _payload(self, values: dict[str, Any]) -> dict[str, Any]:
        """The push payload, straight from the parsed values (what ``to_payload`` would rebuild)."""
        payload = values.copy()
        for code, to_wire in self._wire:
            if code in payload:
                payload[code] = to_wire(payload[code])
        return payload

    def _known_fields(self, data: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[FieldError]]:
        """Input keyed by standard code (attribute names accepted too); unknown keys are errors."""
        if self._known.issuperset(data.keys()):
            return data, []  # the usual case: every key a standard code
        known: dict[str, Any] = {}
        errors: list[FieldError] = []
        for key, value in data.items():
            code = str(key).strip().upper()
            if code in self._known:
                known[code] = value
            else:
                errors.append(_unknown_field(str(key), self.spec))
        return known, errors


_ABSENT = object()
_WIRE: dict[str, Callable[[Any], str]] = {"date": date.isoformat, "decimal": format_decimal}
_VALIDATORS: dict[str, RecordValidator] = {}


def _missing(spec: FieldDefinition) -> FieldError:
    return FieldError(spec.code, f"{spec.title}不能为空", f"{spec.title_en} must not be empty")


def _unknown_field(key: str, spec: CategorySpec) -> FieldError:
    zh = f"未知字段：{key}（{spec.title_zh}）"
    return FieldError(key, zh, f"unknown field {key} in category {spec.name}")


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
