"""The one strict reading of amounts, dates and identifiers written as text, shared by the mapping
language (``yuan_to_wan``, ``date``) and the schema (decimal, date and identifier fields).

- Digits are ASCII: full-width (``２０２６－０３－０５``), Arabic-Indic or other Unicode digits are
  refused in amounts and dates, never read (Python's ``int``, ``Decimal``, ``strptime`` and ``\\d``
  would all accept them, and a half-converted date would pass); a mapping that receives full-width
  values says so with ``fullwidth_to_halfwidth``, which converts every full-width form at once.
  Identifiers are normalised whole instead (:func:`halfwidth`): a full-width USCC is the same USCC.
- Amounts: an optional sign, digits with thousands separators only in groups of three (``1,234.5``;
  ``1,2`` and ``1,2,3,4`` are refused), an optional fraction. No exponent (``1e3``), no underscores
  (``1_000``), no NaN or Infinity.
- Identifier fields (ID numbers, USCCs, registration and organisation codes) must arrive as text: a
  number from XLSX or JSON may already have lost digits (``370113199001010000``), so it is refused.
- Control characters (NUL and the rest of C0/C1, DEL) are refused; tab and line breaks only in long
  free-text fields. Markup (an HTML tag, a ``javascript:`` URL) is refused in every text field: the
  platform publishes the text, and its pages may not escape it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

# Full-width forms U+FF01..U+FF5E sit exactly 0xFEE0 above their ASCII twins; U+3000 is the 全角 space.
FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_AMOUNT = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)", re.ASCII)
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")  # \d of a str pattern: every Unicode decimal digit
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_OR_LAYOUT = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Codes whose values identify someone: ID numbers, USCCs (…SHXYM and the authorities' …DM), business
# registration, organisation and tax registration numbers.
IDENTIFIER_FIELD = re.compile(r"^[A-Z]+_(?:[A-Z]+_)?(?:ZJHM|SHXYM|GSZC|ZZJG|SWDJ|[A-Z]*DM)$")


def halfwidth(text: str) -> str:
    """Every full-width form and the ideographic space → ASCII; CJK characters are left alone."""
    return text if text.isascii() else text.translate(FULLWIDTH_TO_ASCII)


def has_foreign_digits(text: str) -> bool:
    """Digits other than 0-9: full-width, Arabic-Indic, …"""
    return not text.isascii() and _NON_ASCII_DIGIT.search(text) is not None


def parse_amount(text: str) -> Decimal | None:
    """The amount written in ``text``, or None when the text is no amount under the rule above. Blank
    text is no amount: callers decide what empty means."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        return None
    return Decimal(text.replace(",", ""))


def control_character(text: str, *, layout_allowed: bool = False) -> str | None:
    """The first control character in ``text`` as ``U+0000``, or None. ``layout_allowed``: tab, line
    feed and carriage return are legitimate (long free text)."""
    if text.isprintable():  # the usual answer, without a regex
        return None
    found = (_CONTROL if layout_allowed else _CONTROL_OR_LAYOUT).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


# Markup in a text field is never part of a decision, and the platform's public pages may not escape it:
# an HTML tag (<img …>, </a>, <!-- …), or a script URL (javascript:, vbscript:, data:text/html).
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>|\b(?:java|vb)script\s*:|\bdata\s*:\s*text/html",
                     re.IGNORECASE)


def markup(text: str) -> str | None:
    """The first piece of markup in ``text`` (shortened), or None; decided fast for ordinary text."""
    if "<" not in text and ":" not in text and "\uff1a" not in text:
        return None
    found = _MARKUP.search(text)
    return None if found is None else found.group()[:40]


@cache  # field codes repeat in every record
def is_identifier_field(code: str) -> bool:
    return IDENTIFIER_FIELD.match(code) is not None


def is_number(value: object) -> bool:
    """A number as JSON or a spreadsheet delivers it (bool is no number here)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


NUL_SHOWN = "\u2400"  # ␀: what a NUL byte of a bad record looks like where the store keeps it


def printable(value: Any) -> Any:
    """NUL bytes replaced by ␀ at any depth: PostgreSQL refuses them in text and cannot read them back
    from JSON, and a quarantined record must be kept (and shown) whatever bytes it came with."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_SHOWN) if "\x00" in value else value
    if isinstance(value, Mapping):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value
