"""Cursor and value conversions of the SQL source: database values to JSON-able record data, cursors
to text that sorts, and back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from creditsync.exceptions import ConfigurationError
from creditsync.sources.base import RawRecord

if TYPE_CHECKING:  # sql.py imports this module: the options class is only needed for the annotations
    from creditsync.sources.sql import SqlStreamOptions


def parse_cursor(cursor: str | None, opts: SqlStreamOptions, where: str) -> int | datetime | None:
    """The stored watermark as a bound value (minus ``overlap_seconds``)."""
    if cursor is None:
        return None
    try:
        if opts.cursor_type == "integer":
            if not cursor.isdigit():
                raise ValueError(cursor)
            return int(cursor)
        return datetime.fromisoformat(cursor) - timedelta(seconds=opts.overlap_seconds)
    except ValueError:
        raise ConfigurationError(f"{where}: the stored cursor {cursor!r} is not a {opts.cursor_type}; "
                                 "was cursor_type changed? reset the stream's cursor") from None


def cursor_text(value: Any, cursor_type: str) -> str:
    """A cursor value as text that sorts like the value (see the module docstring); ValueError if not."""
    if cursor_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise ValueError(f"not an integer: {value!r}")
        number = Decimal(str(value).strip())
        if number != number.to_integral_value() or number < 0:
            raise ValueError(f"not a non-negative integer: {value!r}")
        return str(int(number))
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return datetime.combine(value, time(0)).isoformat(timespec="microseconds")
    raise ValueError(f"not a timestamp: {value!r}")


def to_record(stream: str, row: Mapping[Any, Any], opts: SqlStreamOptions) -> RawRecord:
    """A RawRecord with the department's own column names; a row without a usable key or cursor is
    flagged (``error`` set, ``cursor`` None) so it is quarantined and never moves the watermark."""
    data = {str(name): json_value(value) for name, value in row.items()}
    key = data.get(opts.key_column or "")
    if key is None or str(key).strip() == "":
        return RawRecord(stream, "bad:" + _content_key(data), data, None,
                         f"row has no {opts.key_column!r} (its id)")
    try:
        cursor = cursor_text(row[opts.cursor_column or ""], opts.cursor_type)
    except (ValueError, ArithmeticError) as exc:
        value = row[opts.cursor_column or ""]
        why = "is empty" if value is None else f"is not a usable {opts.cursor_type} ({exc})"
        return RawRecord(stream, str(key), data, None, f"{opts.cursor_column!r} {why}")
    return RawRecord(stream, str(key), data, cursor)


def json_value(value: Any) -> Any:
    """Database values as JSON: dates/times ISO text, Decimal plain text (``2000.00``), bytes hex."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)  # UUID, timedelta, intervals, enums: their text


def _content_key(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- connections --------------------------------------------------------------------------------------
