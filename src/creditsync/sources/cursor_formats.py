"""How a department writes its cursor, both ways: read from a record into a :class:`Cursor`, and sent
back in a query parameter in the department's own format and time zone.

* ``iso8601``: any offset (``Z``, ``+08:00``) or none (then ``timezone``), any precision; sent as
  ISO-8601 in ``timezone`` (else the cursor's own offset), to the second or the millisecond;
* ``epoch_s`` / ``epoch_ms``: seconds / milliseconds since 1970 UTC, a number or digits; sent the same;
* ``date``: text in ``pattern`` (``%Y%m%d%H%M%S``), in ``timezone``; sent in the same pattern;
* ``row_version``: a whole number (a row version, a serial id); sent as its digits;
* ``text``: opaque text, ordered as text; sent as read.

Sending floors a cursor to what the format can say (``10:00:00.500`` as seconds is ``10:00:00``): the
source filters inclusively, so a floored bound re-reads a little, never skips.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue

from creditsync.sources.cursor import NS, Cursor, CursorKind, parse_instant

FormatName = Literal["iso8601", "epoch_s", "epoch_ms", "date", "row_version", "text"]
_KINDS: dict[str, CursorKind] = {"iso8601": CursorKind.INSTANT, "epoch_s": CursorKind.INSTANT,
                                 "epoch_ms": CursorKind.INSTANT, "date": CursorKind.INSTANT,
                                 "row_version": CursorKind.NUMBER, "text": CursorKind.TEXT}
_SCALE = {"epoch_s": NS, "epoch_ms": NS // 1000}


def zone_of(name: str | None) -> tzinfo | None:
    """An IANA time zone (``Asia/Shanghai``); ValueError naming it when unknown."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None


class CursorFormat(BaseModel):
    """``cursor_format: epoch_ms`` or ``{type: date, pattern: "%Y%m%d%H%M%S"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FormatName = "iso8601"
    pattern: str | None = None  # date only: a strftime pattern

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The shorthand (``epoch_ms``) is valid too, for editors that check the YAML."""
        full = handler.resolve_ref_schema(handler(core_schema))
        names = [name for name in _KINDS if name != "date"]
        return {"anyOf": [{"type": "string", "enum": names}, full]}

    @model_validator(mode="after")
    def _pattern(self) -> Self:
        if (self.type == "date") != (self.pattern is not None):
            raise ValueError("pattern goes with type: date, and type: date needs a pattern")
        if self.pattern is not None and not any(code in self.pattern for code in ("%Y", "%y")):
            raise ValueError(f"pattern {self.pattern!r} has no year (%Y)")
        return self

    @property
    def kind(self) -> CursorKind:
        return _KINDS[self.type]

    @cached_property
    def label(self) -> str:
        return f"date ({self.pattern})" if self.type == "date" else self.type

    # -- records -> Cursor -----------------------------------------------------------------------

    def read(self, value: Any, zone: tzinfo | None = None) -> Cursor:
        """The cursor a record carries; ValueError saying why it is not one."""
        if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
            raise ValueError("it is empty")
        if self.type in _SCALE:
            return Cursor.of_epoch_ns(_epoch_ns(value, _SCALE[self.type]), _offset_at(zone, value, self))
        if self.type == "row_version":
            return Cursor.of_number(_whole(value))
        if self.type == "text":
            return Cursor.of_text(str(value))
        if isinstance(value, datetime | date):
            return Cursor.of_instant(value, zone)
        if not isinstance(value, str):
            raise ValueError(f"{type(value).__name__} is not {self.label} text")
        if self.type == "date":
            assert self.pattern is not None
            return Cursor.of_instant(datetime.strptime(value.strip(), self.pattern), zone)
        return parse_instant(value, zone)

    def parse_stored(self, text: str, zone: tzinfo | None = None) -> Cursor:
        """A stored (or typed-in) cursor for this stream: the canonical text, or the format's own."""
        try:
            stored = Cursor.parse(text, self.kind)
        except ValueError:
            return self.read(text, zone)
        if stored.is_local and zone is not None:
            return Cursor.of_instant(stored.as_datetime(), zone)
        return stored

    # -- Cursor -> parameter ---------------------------------------------------------------------

    def render(self, cursor: Cursor, zone: tzinfo | None = None) -> str:
        """The cursor as this format writes it, floored to the format's precision."""
        if cursor.kind is not self.kind:
            raise ValueError(f"the cursor {cursor} is a {cursor.kind}; {self.label} needs a {self.kind}")
        if self.type in _SCALE:
            return str(cursor.epoch_ns // _SCALE[self.type])
        if self.type == "row_version":
            return str(cursor.number)
        if self.type == "text":
            return cursor.value
        moment = cursor.as_datetime(zone) if not cursor.is_local else cursor.as_datetime()
        if self.type == "date":
            assert self.pattern is not None
            return moment.strftime(self.pattern)
        millis = cursor.epoch_ns % NS // 1_000_000
        return moment.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")


def _epoch_ns(value: Any, scale: int) -> int:
    if isinstance(value, int | float | Decimal) or (isinstance(value, str) and value.strip()):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if number.is_finite():
            return int(number * scale)
    raise ValueError(f"{value!r} is not a number")


def _whole(value: Any) -> int:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _offset_at(zone: tzinfo | None, value: Any, fmt: CursorFormat) -> int:
    """Epoch values are instants; they are shown (stored) at the department's zone offset, or UTC."""
    if zone is None:
        return 0
    moment = Cursor.of_epoch_ns(_epoch_ns(value, _SCALE[fmt.type])).as_datetime(zone)
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)
