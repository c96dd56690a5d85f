"""Cursor and value conversions of the SQL source: database values to JSON-able record data, cursors
to text that sorts, and back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from creditsync.exceptions import ConfigurationError
from creditsync.sources.base import RawRecord

if TYPE_CHECKING:  # sql.py imports this module: the options class is only needed for the annotations
    from creditsync.sources.sql import SqlStreamOptions


def parse_cursor(cursor: str | None, opts: SqlStreamOptions, where: str) -> int | datetime | None:
    """The stored watermark as a bound value (minus ``overlap_seconds``). With ``timezone`` the column
    holds local times without an offset: the bound is the cursor's instant in that zone, naive."""
    if cursor is None:
        return None
    try:
        if opts.cursor_type == "integer":
            if not cursor.isdigit():
                raise ValueError(cursor)
            return int(cursor)
        bound = datetime.fromisoformat(cursor) - timedelta(seconds=opts.overlap_seconds)
        if opts.timezone and bound.tzinfo is not None:
            bound = bound.astimezone(ZoneInfo(opts.timezone)).replace(tzinfo=None)
        return bound
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
    """A RawRecord with the department's own column names; a row without a usable key or cursor, or
    with text that does not decode, is flagged (``error`` set, ``cursor`` None) so it is quarantined
    and never moves the watermark."""
    row, undecodable = _fix_values(row, opts)
    data = {str(name): json_value(value) for name, value in row.items()}
    key = data.get(opts.key_column or "")
    if key is None or str(key).strip() == "":
        return RawRecord(stream, "bad:" + _content_key(data), data, None,
                         f"row has no {opts.key_column!r} (its id)")
    if undecodable:
        return RawRecord(stream, str(key), data, None, undecodable)
    try:
        cursor = cursor_text(row[opts.cursor_column or ""], opts.cursor_type)
    except (ValueError, ArithmeticError) as exc:
        value = row[opts.cursor_column or ""]
        why = "is empty" if value is None else f"is not a usable {opts.cursor_type} ({exc})"
        return RawRecord(stream, str(key), data, None, f"{opts.cursor_column!r} {why}")
    return RawRecord(stream, str(key), data, cursor)


def _fix_values(row: Mapping[Any, Any], opts: SqlStreamOptions) -> tuple[dict[str, Any], str | None]:
    """Local times given their zone (``timezone``), mislabelled text decoded (``column_encodings``)."""
    fixed = {str(name): value for name, value in row.items()}
    if opts.timezone:
        zone = ZoneInfo(opts.timezone)
        fixed = {name: value.replace(tzinfo=zone) if _naive(value) else value
                 for name, value in fixed.items()}
    for column, encoding in (opts.column_encodings or {}).items():
        if fixed.get(column) is None:
            continue
        try:
            fixed[column] = decode_mislabelled(fixed[column], encoding)
        except (UnicodeError, TypeError) as exc:
            return fixed, f"column {column!r} is not {encoding} text ({exc})"
    return fixed, None


def _naive(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is None


def decode_mislabelled(value: Any, encoding: str) -> str:
    """Text whose bytes are in ``encoding`` but that the database took for latin1 (old systems wrote
    GBK into latin1 columns): back to the bytes, then decoded. MySQL's latin1 is cp1252 with the five
    bytes cp1252 leaves undefined passed through as U+0080–U+009F, as plain ISO-8859-1 does for all of
    0x80–0x9F, so a character below U+0100 is its own byte and any other is cp1252's."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode(encoding)
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__}, not text")
    raw = bytearray()
    for char in value:
        raw += bytes([ord(char)]) if ord(char) < 0x100 else char.encode("cp1252")
    return raw.decode(encoding)


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
