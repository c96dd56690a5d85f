"""Small value helpers shared by sources and transforms: emptiness, display, the transform error."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from creditsync.privacy import ID_NUMBER_FIELD, mask_id, mask_text
from creditsync.strict_text import is_identifier_field

# Longest excerpt of a bad value quoted in an error message: enough to recognise it, short enough that a
# 4000-character 违法事实 does not flood the quarantine report.
_SHOWN_CHARS = 40


class TransformError(ValueError):
    """A transform could not handle one value; becomes a ``FieldError`` on the target field.

    Custom transforms may raise it to control the bilingual message; any ``ValueError`` also works.
    """

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


def is_empty(value: Any) -> bool:
    """Missing for mapping purposes: None, blank text, or an empty list/dict (exports use all three)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def show(value: Any, field: str) -> str:
    """Quote a bad value for an error message, masking ID numbers (they must never reach logs)."""
    text = str(value)
    if ID_NUMBER_FIELD.match(field):
        text = mask_id(text)
    text = mask_text(text)
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "…"
    if not text.isprintable():  # a NUL quoted into a message would break the store and the report
        text = "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)
    return f"'{text}'"


def as_text(value: Any, field: str) -> str:
    """Scalars become text; containers are an error, and so is a number for an identifier field: an
    ID number or USCC exported as a number may already have lost digits (370113199001010000)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformError(
            f"应为文本，实际为 {type(value).__name__}：{show(value, field)}",
            f"expected text, got {type(value).__name__}: {show(value, field)}",
        )
    if is_identifier_field(field):
        raise TransformError(
            f"证照号码类字段应为文本，实际为数字 {show(value, field)}（数字可能已丢失位数，请按文本导出）",
            f"an identifier must arrive as text, not as the number {show(value, field)} "
            "(its digits may already be lost; export the column as text)",
        )
    return str(value)


def each(value: Any, func: Callable[[Any], Any]) -> Any:
    """Apply a scalar transform to a value or to every element of a list; None stays None."""
    if isinstance(value, list | tuple):
        return [None if item is None else func(item) for item in value]
    return func(value)
