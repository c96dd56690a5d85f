"""Value conversions of the SQL source: database values to JSON-able record data (the same code for a
sync and for a sample file given to ``creditsync map``), and the stored cursor back to a bound."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from creditsync.sources.base import ItemError
from creditsync.sources.cursor import Cursor

if TYPE_CHECKING:  # sql.py imports this module: the options class is only needed for the annotations
    from creditsync.sources.sql import SqlStreamOptions

# MySQL's "no date": PyMySQL hands it over as this text. It means empty, in a sync and in a sample.
_ZERO_DATE = re.compile(r"^0000-00-00([ T]00:00:00(\.0+)?)?$")


def parse_cursor(cursor: Cursor | None, opts: SqlStreamOptions) -> int | datetime | None:
    """The stored watermark as a bound value (minus ``overlap_seconds``). With ``timezone`` the column
    holds local times without an offset: the bound is the cursor's instant in that zone, naive."""
    if cursor is None:
        return None
    if opts.cursor_type == "integer":
        return cursor.number
    bound = cursor.as_datetime() - timedelta(seconds=opts.overlap_seconds)
    if opts.timezone and bound.tzinfo is not None:
        bound = bound.astimezone(ZoneInfo(opts.timezone)).replace(tzinfo=None)
    return bound


def normalise_row(row: Mapping[Any, Any], opts: SqlStreamOptions) -> dict[str, Any] | ItemError:
    """A row with the department's own column names and JSON-able values: local times given their zone
    (``timezone``), mislabelled text decoded (``column_encodings``; a value that does not decode flags
    the row, naming the column), zero dates empty."""
    fixed, undecodable = _fix_values(row, opts)
    data = {str(name): json_value(value) for name, value in fixed.items()}
    if undecodable:
        key = data.get(opts.key_column or "")
        return ItemError(undecodable, data, None if key is None else str(key))
    return data


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
    """Database values as JSON: dates/times ISO text, Decimal plain text (``2000.00``), bytes hex, a
    zero date (``0000-00-00``) None."""
    if isinstance(value, str):
        return None if _ZERO_DATE.match(value) else value
    if value is None or isinstance(value, int | float | bool):
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
