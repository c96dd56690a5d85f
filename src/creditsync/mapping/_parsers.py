"""The value-level work behind the named transforms: text clean-up, dates, money.

Pure functions of (value, target field) that raise :class:`TransformError`; the pydantic models in
``transforms.py`` only choose which of these to call.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation
from typing import Any

from creditsync.mapping._values import TransformError, as_text, show
from creditsync.strict_text import FULLWIDTH_TO_ASCII, has_foreign_digits, parse_amount

# str.strip() already removes the ideographic space U+3000 and NBSP; zero-width characters and a stray
# BOM are what copy-paste from Word/Excel leaves behind and are invisible in every review tool.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def trim(value: Any, field: str) -> str:
    return as_text(value, field).strip().strip(INVISIBLE).strip()


def fullwidth_to_halfwidth(value: Any, field: str) -> str:
    """全角→半角: ``９１３７０１０２ＡＢＣ`` → ``91370102ABC``; CJK characters are left alone."""
    return as_text(value, field).translate(FULLWIDTH_TO_ASCII)


# ---- dates ---------------------------------------------------------------------------------------

# Built-in layouts, tried after the mapping's own formats. Each is a regex (not strptime) because
# strptime accepts "2024015" for %Y%m%d and silently guesses the month/day split.
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_BUILTIN_DATES = (
    re.compile(rf"(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}", re.ASCII),  # YYYY-MM-DD [time]
    re.compile(rf"(\d{{4}})/(\d{{1,2}})/(\d{{1,2}}){_TIME}", re.ASCII),  # YYYY/MM/DD [time]
    re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII),  # YYYYMMDD
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日", re.ASCII),  # YYYY年MM月DD日
)


def parse_date(value: Any, field: str, formats: Sequence[str] = ()) -> str | None:
    """Any accepted date spelling → ISO ``YYYY-MM-DD`` text; blank text counts as missing (None)."""
    if isinstance(value, datetime):  # before `date`: datetime is a subclass of date
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = trim(value, field)
    if not text:
        return None
    parsed = None
    if not has_foreign_digits(text):  # strptime would read ２ or ١ as digits: half-converted dates
        parsed = _by_formats(text, formats) or _by_builtins(text, field) or _by_isoformat(text)
    if parsed is None:
        raise TransformError(
            f"无法识别的日期：{show(value, field)}（应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD）",
            f"unrecognised date {show(value, field)} (expected YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
        )
    return parsed.isoformat()


def offset_date(value: Any, field: str, *, years: int = 0, months: int = 0, days: int = 0) -> str | None:
    """A date (any spelling :func:`parse_date` reads) moved by years, months and days → ``YYYY-MM-DD``.

    Years and months first, keeping the day of the month where it exists and otherwise taking the
    month's last day (2024-02-29 + 1 year → 2025-02-28, 01-31 + 1 month → 02-28/29), then days."""
    text = parse_date(value, field)
    if text is None:
        return None
    start = date.fromisoformat(text)
    month_index = start.year * 12 + start.month - 1 + years * 12 + months
    year, month = divmod(month_index, 12)
    shown = show(value, field)
    out_of_range = TransformError(f"日期超出范围：{shown}", f"date out of range: {shown}")
    if not 1 <= year <= 9999:
        raise out_of_range
    moved = date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))
    try:
        return (moved + timedelta(days=days)).isoformat()
    except OverflowError:
        raise out_of_range from None


def _by_formats(text: str, formats: Sequence[str]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _by_builtins(text: str, field: str) -> date | None:
    for pattern in _BUILTIN_DATES:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        year, month, day = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            # The layout matched, so this is a date that does not exist (2024-02-30): say so.
            raise TransformError(
                f"日期不存在：{show(text, field)}", f"no such date: {show(text, field)}"
            ) from None
    return None


def _by_isoformat(text: str) -> date | None:
    """ISO datetimes with offsets (``2024-01-05T10:00:00+08:00``); the local calendar date is kept."""
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


# ---- money ---------------------------------------------------------------------------------------

def yuan_to_wan(value: Any, field: str) -> Decimal | None:
    """元 → 万元, exactly: ``2000`` → ``Decimal('0.2')``, ``"1,234.5"`` → ``Decimal('0.12345')``. Text
    follows the strict amount rule (creditsync.strict_text: ASCII digits, thousands separators only in
    groups of three, no exponent); full-width amounts need ``fullwidth_to_halfwidth`` first. Floats go
    through their shortest repr; blank text counts as missing (None)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _not_a_number(value, field)
    text = str(value).strip()
    if not text:
        return None
    amount = parse_amount(text)
    if amount is None or not amount.is_finite():
        raise _not_a_number(value, field)
    return _plain(amount.scaleb(-4))


def scale(value: Any, field: str, factor: Decimal, divide: bool) -> Decimal | None:
    """``value`` × ``factor`` (or ÷), exactly: 分 → 元 is ``÷ 100``, 元 → 万元 ``÷ 10000``. The value reads as
    ``yuan_to_wan`` reads money (strict digits, thousands only in groups of three); a quotient that is
    not exact (``÷ 3``) is an error rather than a rounded amount."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _not_a_number(value, field, "×÷")
    text = str(value).strip() if not isinstance(value, float) else repr(value)
    if not text:
        return None
    amount = parse_amount(text)
    if amount is None or not amount.is_finite():
        raise _not_a_number(value, field, "×÷")
    context = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero])
    try:
        result = context.divide(amount, factor) if divide else context.multiply(amount, factor)
    except (Inexact, InvalidOperation, DivisionByZero):
        shown = show(value, field)
        raise TransformError(f"{shown} ÷ {factor} 不能精确表示", f"{shown} ÷ {factor} is not exact") from None
    return _plain(result)


def _plain(amount: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (2E+3 would print badly)."""
    normal = amount.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _not_a_number(value: Any, field: str, what: str = "元→万元") -> TransformError:
    en = "yuan → 10k yuan" if what == "元→万元" else "multiply/divide"
    return TransformError(
        f"金额不是有效数字：{show(value, field)}（{what}）",
        f"amount is not a number: {show(value, field)} ({en})",
    )
