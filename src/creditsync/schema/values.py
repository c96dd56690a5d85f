"""Parsing one raw field value (CSV string or native type) into its canonical Python value.

Each parser raises :class:`FieldProblem` with a Chinese and an English message; the model layer turns
it into a pydantic error and :mod:`creditsync.schema.validation` back into a ``FieldError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from creditsync.exceptions import FieldError
from creditsync.schema import codetables, identifiers

Kind = Literal["text", "code", "codes", "date", "decimal", "uscc", "id_number"]
Requirement = Literal["required", "conditional", "optional"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_TERM = date(2099, 12, 31)  # 有效期至 / 处罚有效期 value meaning 长期
_DATE_SEPARATED = re.compile(r"^(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})$")
_DATE_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_AMOUNT_PLACES = 6  # decimal(18,6) 万元
_AMOUNT_INTEGER_DIGITS = 12


class FieldProblem(ValueError):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class FieldSpec:
    """One standard field: its code (external name), titles, kind and constraints."""

    code: str
    title: str
    title_en: str
    kind: Kind = "text"
    requirement: Requirement = "optional"
    max_length: int | None = None
    min_length: int | None = None
    table: str | None = None
    allow_placeholder: bool = False

    @property
    def name(self) -> str:
        """Python attribute name on the model (the code is the alias)."""
        return self.code.lower()

    @property
    def python_type(self) -> type:
        return {"date": date, "decimal": Decimal}.get(self.kind, str)


@dataclass
class ParseContext:
    """Per-validation state: the reference date and the warnings found so far."""

    today: date = field(default_factory=lambda: shanghai_today())
    warnings: list[FieldError] = field(default_factory=list)


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def parse_value(spec: FieldSpec, raw: Any, ctx: ParseContext) -> Any:
    """Canonical value of one field, or None when it is empty (an error if the field is required)."""
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        if spec.requirement == "required":
            raise FieldProblem(f"{spec.title}不能为空", f"{spec.title_en} must not be empty")
        return None
    return _PARSERS[spec.kind](spec, raw, ctx)


def _text(spec: FieldSpec, raw: Any, ctx: ParseContext) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise FieldProblem(f"{spec.title}应为文本", f"{spec.title_en} must be text")
    text = str(raw)
    if spec.max_length is not None and len(text) > spec.max_length:
        raise FieldProblem(
            f"{spec.title}长度不能超过{spec.max_length}个字符",
            f"{spec.title_en} must be at most {spec.max_length} characters",
        )
    if spec.min_length is not None and len(text) < spec.min_length:
        raise FieldProblem(
            f"{spec.title}长度不能少于{spec.min_length}个字符",
            f"{spec.title_en} must be at least {spec.min_length} characters",
        )
    return text


def _code(spec: FieldSpec, raw: Any, ctx: ParseContext) -> str:
    try:
        return codetables.lookup(_table(spec), raw)
    except codetables.UnknownCodeError as exc:
        raise _unknown_code(spec, exc) from exc


def _codes(spec: FieldSpec, raw: Any, ctx: ParseContext) -> str:
    try:
        texts = codetables.lookup_many(_table(spec), raw)
    except codetables.UnknownCodeError as exc:
        raise _unknown_code(spec, exc) from exc
    if not texts:
        raise FieldProblem(f"{spec.title}不能为空", f"{spec.title_en} must not be empty")
    return codetables.join(texts)


def _table(spec: FieldSpec) -> str:
    assert spec.table is not None, f"{spec.code} has no code table"  # guaranteed by the spec loader
    return spec.table


def _unknown_code(spec: FieldSpec, exc: codetables.UnknownCodeError) -> FieldProblem:
    allowed = "、".join(exc.table.texts)
    return FieldProblem(
        f"{spec.title}取值无效：{exc.value}（可选值：{allowed}）",
        f"{spec.title_en} has an invalid value: {exc.value} (allowed: {'; '.join(exc.table.texts)})",
    )


def _date(spec: FieldSpec, raw: Any, ctx: ParseContext) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    match = _DATE_SEPARATED.match(text) or _DATE_COMPACT.match(text)
    try:
        if match:
            return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        pass
    raise FieldProblem(
        f"{spec.title}不是有效日期（格式YYYY/MM/DD、YYYY-MM-DD或YYYYMMDD）：{raw}",
        f"{spec.title_en} is not a valid date (YYYY/MM/DD, YYYY-MM-DD or YYYYMMDD): {raw}",
    )


def _decimal(spec: FieldSpec, raw: Any, ctx: ParseContext) -> Decimal:
    amount = _to_decimal(raw)
    if amount is None:
        raise FieldProblem(f"{spec.title}应为数字：{raw}", f"{spec.title_en} must be a number: {raw}")
    if amount < 0:
        raise FieldProblem(f"{spec.title}不能为负数", f"{spec.title_en} must not be negative")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _AMOUNT_PLACES:
        raise FieldProblem(
            f"{spec.title}最多保留{_AMOUNT_PLACES}位小数（单位：万元）",
            f"{spec.title_en} allows at most {_AMOUNT_PLACES} decimal places (unit: 10,000 yuan)",
        )
    if amount.adjusted() >= _AMOUNT_INTEGER_DIGITS:
        raise FieldProblem(f"{spec.title}超出允许范围（单位：万元）", f"{spec.title_en} is too large")
    return amount


def _to_decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    try:
        amount = Decimal(str(raw)) if isinstance(raw, int | float | str | Decimal) else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() else None


def _uscc(spec: FieldSpec, raw: Any, ctx: ParseContext) -> str:
    value = identifiers.compact(_text(spec, raw, ctx))
    problems = identifiers.check_uscc(value, allow_placeholder=spec.allow_placeholder)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise FieldProblem(errors[0].message_zh, errors[0].message_en)
    ctx.warnings.extend(FieldError(spec.code, p.message_zh, p.message_en) for p in problems)
    return value


def _id_number(spec: FieldSpec, raw: Any, ctx: ParseContext) -> str:
    # Checked against its document type by the subject rule; here only normalised (x → X).
    return identifiers.compact(_text(spec, raw, ctx))


_PARSERS: dict[str, Callable[[FieldSpec, Any, ParseContext], Any]] = {
    "text": _text,
    "code": _code,
    "codes": _codes,
    "date": _date,
    "decimal": _decimal,
    "uscc": _uscc,
    "id_number": _id_number,
}
KINDS = frozenset(_PARSERS)
