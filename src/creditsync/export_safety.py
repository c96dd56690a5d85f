"""Cells and fields people open in a spreadsheet must never run as formulas (CSV/formula injection).

Department data is not trusted: a subject name ``=cmd|' /C calc'!A0`` must show as text in the
quarantine report, in ``quarantine list --format csv`` and in every other file the gateway writes for
people (audit exports, scorecards). Following OWASP's CSV-injection guidance, a text value that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so Excel, WPS and
LibreOffice show it as text, also after a person edits the cell. The full-width forms (＝ ＋ － ＠) are
treated the same: spreadsheet programs in Chinese locales may read them as formula signs. Leading
blanks do not hide a sign. Numbers, dates and empty values are left as they are.

Every writer of such a file calls :func:`neutralise` (one value), :func:`neutralise_row` (a CSV row) or
:func:`text_cell_value` (an openpyxl cell, stored as a string, never a formula).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_SIGNS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
QUOTE = "'"


def is_dangerous(value: str) -> bool:
    """Whether a spreadsheet program could take this text for a formula."""
    stripped = value.lstrip(" \u3000\n")
    return value.startswith(FORMULA_SIGNS) or stripped.startswith(FORMULA_SIGNS)


def neutralise(value: Any) -> Any:
    """A text value made safe to open; anything else unchanged."""
    if isinstance(value, str) and is_dangerous(value):
        return QUOTE + value
    return value


def neutralise_row(values: Iterable[Any]) -> list[Any]:
    """One CSV row: every field through :func:`neutralise`."""
    return [neutralise(value) for value in values]


def text_cell_value(cell: Any, value: Any) -> Any:
    """Set an openpyxl cell's value; text is neutralised and typed as a string, so it is never stored
    as a formula whatever it starts with. Returns the cell."""
    cell.value = neutralise(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell
