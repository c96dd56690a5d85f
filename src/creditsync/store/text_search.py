"""Forgiving search over stored text, for the console and ``creditsync audit trace``: a 文书号 as people
type it (``[2026]``, ``（2026）``, full-width digits, spaces) matched in the same folded form on both sides
(creditsync.schema.document_no is the one normaliser), and parts of a 文书号 or a name matched literally:
``%`` and ``_`` in what was typed are characters, never wildcards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from creditsync.schema.document_no import canonical_document_no, search_form

ESCAPE = "\\"


def document_no_forms(text: str) -> set[str]:
    """What a typed 文书号 may be stored as: itself (older rows, audit details) and its canonical form."""
    typed = text.replace("\u3000", " ").strip()
    return {typed, canonical_document_no(typed)} - {""}


def folded(column: Any) -> Any:
    """A stored canonical 文书号 in :func:`search_form` (its year brackets 〔〕 as ``()``), in SQL that
    SQLite, PostgreSQL and MariaDB all run."""
    return func.replace(func.replace(column, "〔", "("), "〕", ")")


def like_text(text: str) -> str:
    """``%text%`` with the LIKE wildcards and the escape character of ``text`` escaped."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def document_no_contains(column: Any, text: str) -> Any:
    """The 文书号 column contains what was typed, both sides folded (a part such as ``101号`` too)."""
    return folded(column).like(like_text(search_form(text)), escape=ESCAPE)


def text_contains(column: Any, text: str) -> Any:
    """A name (or any text column) contains what was typed, literally."""
    return column.like(like_text(text.replace("\u3000", " ").strip()), escape=ESCAPE)
