"""Parsing one raw field value (CSV string or native type) into its canonical Python value.

Each parser raises :class:`FieldProblem` with a Chinese and an English message; the model layer turns
it into a pydantic error and :mod:`creditsync.schema.validation` back into a ``FieldError``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from creditsync.exceptions import FieldError
from creditsync.schema import codetables, identifiers
from creditsync.schema.document_no import canonical_document_no
from creditsync.strict_text import control_character, is_identifier_field, is_number, markup, parse_amount

Kind = Literal["text", "code", "codes", "date", "decimal", "uscc", "id_number", "document_no"]
Requirement = Literal["required", "conditional", "optional"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_TERM = date(2099, 12, 31)  # 有效期至 / 处罚有效期 value meaning 长期
# ASCII digits only (re.ASCII): a str pattern's \d also matches full-width and Arabic-Indic digits.
_DATE_SEPARATED = re.compile(r"^(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})$", re.ASCII)
_DATE_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$", re.ASCII)
_AMOUNT_PLACES = 6  # decimal(18,6) 万元
_AMOUNT_INTEGER_DIGITS = 12


class FieldProblem(ValueError):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class FieldDefinition:
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


FieldParser = Callable[[Any, list[FieldError]], Any]
"""``parse(raw, warnings) -> canonical value or None``; raises :class:`FieldProblem`, appends warnings."""


def parse_value(spec: FieldDefinition, raw: Any, ctx: ParseContext) -> Any:
    """Canonical value of one field, or None when it is empty (an error if the field is required)."""
    return field_parser(spec)(raw, ctx.warnings)


@cache
def field_parser(spec: FieldDefinition) -> FieldParser:
    """The parser of one field, built once: messages written out, the kind chosen, repeated values of
    the code, date, amount and USCC kinds remembered (they recur from record to record)."""
    if spec.kind == "text":
        return _text_field(spec)  # the most common kind, in one function
    parse_kind = _KINDS[spec.kind](spec)
    empty, refuse_control = _empty_value(spec), _control_check(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> Any:
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                return empty()
            if not raw.isprintable():
                refuse_control(raw)
        elif raw is None:
            return empty()
        return parse_kind(raw, warnings)

    return _remembered(parse) if spec.kind in _REMEMBERED_KINDS else parse


def _text_field(spec: FieldDefinition) -> FieldParser:
    """:func:`field_parser` of a text field: what the general parser and ``_text_kind`` do, inlined."""
    empty, check, refuse_control = _empty_value(spec), _text_kind(spec), _control_check(spec)
    longest = spec.max_length if spec.max_length is not None else sys.maxsize
    shortest = spec.min_length or 0

    def parse(raw: Any, warnings: list[FieldError]) -> Any:
        if type(raw) is not str:
            if raw is None:
                return empty()
            if isinstance(raw, str):
                raw = raw.strip()
                if raw and not raw.isprintable():
                    refuse_control(raw)
                return check(raw, warnings) if raw else empty()
            return check(raw, warnings)
        text = raw.strip()
        if not text:
            return empty()
        if not text.isprintable():
            refuse_control(text)
        if shortest <= len(text) <= longest and not ("<" in text or ":" in text or "\uff1a" in text):
            return text
        return check(text, warnings)  # raises the length or markup problem

    return parse


def _control_check(spec: FieldDefinition) -> Callable[[str], None]:
    """Refuses NUL and other control characters (PostgreSQL cannot even store NUL); tab and line
    breaks are legitimate in long free text (fields without a length limit)."""
    layout_allowed = spec.kind == "text" and spec.max_length is None

    def refuse(text: str) -> None:
        found = control_character(text, layout_allowed=layout_allowed)
        if found is not None:
            raise FieldProblem(
                f"{spec.title}含有控制字符{found}（不可见字符，如NUL），请在源系统中清除",
                f"{spec.title_en} contains the control character {found}; remove it at the source",
            )

    return refuse


def _refuse_number(spec: FieldDefinition) -> FieldProblem:
    return FieldProblem(
        f"{spec.title}应为文本，不能是数字（数字可能已丢失位数，请按文本导出该列）",
        f"{spec.title_en} must arrive as text, not as a number (its digits may already be lost; "
        "export the column as text)",
    )


def _empty_value(spec: FieldDefinition) -> Callable[[], None]:
    missing = FieldProblem(f"{spec.title}不能为空", f"{spec.title_en} must not be empty")

    def empty() -> None:
        if spec.requirement == "required":
            raise FieldProblem(missing.message_zh, missing.message_en)
        return None

    return empty


_CACHE_LIMIT = 4096  # distinct values remembered per field; then it starts again (memory stays flat)


def _remembered(parse: FieldParser) -> FieldParser:
    """``parse`` with its outcome (value and warnings, or the problem) remembered per text value.

    Only exact ``str`` inputs are remembered: 1, 1.0 and True are equal as keys but not as input."""
    outcomes: dict[str, tuple[Any, tuple[FieldError, ...]] | FieldProblem] = {}

    def parse_remembered(raw: Any, warnings: list[FieldError]) -> Any:
        if type(raw) is not str:
            return parse(raw, warnings)
        outcome = outcomes.get(raw)
        if outcome is None:
            found: list[FieldError] = []
            try:
                outcome = (parse(raw, found), tuple(found))
            except FieldProblem as problem:
                outcome = FieldProblem(problem.message_zh, problem.message_en)  # without stack or cause
            if len(outcomes) >= _CACHE_LIMIT:
                outcomes.clear()
            outcomes[raw] = outcome
        if isinstance(outcome, FieldProblem):
            raise FieldProblem(outcome.message_zh, outcome.message_en)  # a fresh one: no stack builds up
        value, extra = outcome
        if extra:
            warnings.extend(extra)
        return value

    return parse_remembered


def _text_kind(spec: FieldDefinition) -> FieldParser:
    not_text = (f"{spec.title}应为文本", f"{spec.title_en} must be text")
    longest, shortest = spec.max_length, spec.min_length
    too_long = (
        f"{spec.title}长度不能超过{longest}个字符",
        f"{spec.title_en} must be at most {longest} characters",
    )
    too_short = (
        f"{spec.title}长度不能少于{shortest}个字符",
        f"{spec.title_en} must be at least {shortest} characters",
    )

    identifier = spec.kind in ("uscc", "id_number") or is_identifier_field(spec.code)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        if type(raw) is str:
            text = raw
        elif identifier and is_number(raw):
            raise _refuse_number(spec)
        elif isinstance(raw, bool) or not isinstance(raw, str | int):
            raise FieldProblem(*not_text)
        else:
            text = str(raw)
        if longest is not None and len(text) > longest:
            raise FieldProblem(*too_long)
        if shortest is not None and len(text) < shortest:
            raise FieldProblem(*too_short)
        if (found := markup(text)) is not None:
            raise FieldProblem(f"{spec.title}含有网页标记或脚本“{found}”，不予公示，请在源系统中删除",
                               f"{spec.title_en} contains markup or a script ({found!r}); remove it at "
                               "the source")
        return text

    return parse


def _document_no_kind(spec: FieldDefinition) -> FieldParser:
    """A 文书号: text, in its canonical form (schema.document_no), so every written variant of one
    number is one record."""
    text = _text_kind(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        return canonical_document_no(text(raw, warnings))

    return parse


def _code_kind(spec: FieldDefinition) -> FieldParser:
    table = _table(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        try:
            return codetables.lookup(table, raw)
        except codetables.UnknownCodeError as exc:
            raise _unknown_code(spec, exc) from exc

    return parse


def _codes_kind(spec: FieldDefinition) -> FieldParser:
    table = _table(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        try:
            texts = codetables.lookup_many(table, raw)
        except codetables.UnknownCodeError as exc:
            raise _unknown_code(spec, exc) from exc
        if not texts:
            raise FieldProblem(f"{spec.title}不能为空", f"{spec.title_en} must not be empty")
        return codetables.join(texts)

    return parse


def _table(spec: FieldDefinition) -> str:
    assert spec.table is not None, f"{spec.code} has no code table"  # guaranteed by the spec loader
    return spec.table


def _unknown_code(spec: FieldDefinition, exc: codetables.UnknownCodeError) -> FieldProblem:
    allowed = "、".join(exc.table.texts)
    return FieldProblem(
        f"{spec.title}取值无效：{exc.value}（可选值：{allowed}）",
        f"{spec.title_en} has an invalid value: {exc.value} (allowed: {'; '.join(exc.table.texts)})",
    )


def _date_kind(spec: FieldDefinition) -> FieldParser:
    def parse(raw: Any, warnings: list[FieldError]) -> date:
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

    return parse


def _decimal_kind(spec: FieldDefinition) -> FieldParser:
    negative = (f"{spec.title}不能为负数", f"{spec.title_en} must not be negative")
    too_precise = (
        f"{spec.title}最多保留{_AMOUNT_PLACES}位小数（单位：万元）",
        f"{spec.title_en} allows at most {_AMOUNT_PLACES} decimal places (unit: 10,000 yuan)",
    )
    too_large = (f"{spec.title}超出允许范围（单位：万元）", f"{spec.title_en} is too large")

    def parse(raw: Any, warnings: list[FieldError]) -> Decimal:
        amount = _to_decimal(raw)
        if amount is None:
            raise FieldProblem(f"{spec.title}应为数字：{raw}", f"{spec.title_en} must be a number: {raw}")
        if amount < 0:
            raise FieldProblem(*negative)
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > _AMOUNT_PLACES:
            raise FieldProblem(*too_precise)
        if amount.adjusted() >= _AMOUNT_INTEGER_DIGITS:
            raise FieldProblem(*too_large)
        return amount

    return parse


def _to_decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, str):
        return parse_amount(raw)  # the strict rule: ASCII digits, thousands in groups of three
    if isinstance(raw, bool):
        return None
    try:
        amount = Decimal(str(raw)) if isinstance(raw, int | float | str | Decimal) else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() else None


def _uscc_kind(spec: FieldDefinition) -> FieldParser:
    text = _text_kind(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        value = identifiers.compact(text(raw, warnings))
        problems = identifiers.check_uscc(value, allow_placeholder=spec.allow_placeholder)
        if problems:
            errors = [p for p in problems if not p.warning]
            if errors:
                raise FieldProblem(errors[0].message_zh, errors[0].message_en)
            warnings.extend(FieldError(spec.code, p.message_zh, p.message_en) for p in problems)
        return value

    return parse


def _id_number_kind(spec: FieldDefinition) -> FieldParser:
    text = _text_kind(spec)

    def parse(raw: Any, warnings: list[FieldError]) -> str:
        # Checked against its document type by the subject rule; here only normalised (x → X).
        return identifiers.compact(text(raw, warnings))

    return parse


_KINDS: dict[str, Callable[[FieldDefinition], FieldParser]] = {
    "text": _text_kind,
    "document_no": _document_no_kind,
    "code": _code_kind,
    "codes": _codes_kind,
    "date": _date_kind,
    "decimal": _decimal_kind,
    "uscc": _uscc_kind,
    "id_number": _id_number_kind,
}
_REMEMBERED_KINDS = frozenset({"code", "codes", "date", "decimal", "uscc"})
KINDS = frozenset(_KINDS)
