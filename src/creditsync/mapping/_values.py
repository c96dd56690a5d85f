"""Small value helpers shared by sources and transforms: emptiness, display, the transform error."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from creditsync.privacy import ID_NUMBER_FIELD, mask_id, mask_text

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
    return f"'{text}'"


def as_text(value: Any, field: str) -> str:
    """Scalars become text (an ID exported as a number is still an ID); containers are an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformError(
            f"应为文本，实际为 {type(value).__name__}：{show(value, field)}",
            f"expected text, got {type(value).__name__}: {show(value, field)}",
        )
    return str(value)


def each(value: Any, func: Callable[[Any], Any]) -> Any:
    """Apply a scalar transform to a value or to every element of a list; None stays None."""
    if isinstance(value, list | tuple):
        return [None if item is None else func(item) for item in value]
    return func(value)
