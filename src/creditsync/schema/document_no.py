"""One decision, one 文书号: the written variants of a document number as one canonical text.

Departments type the same number many ways: ``长市监处罚〔２０２６〕101号``, ``[2026]``, ``(2026)``,
``（2026）``, ``【2026】``, an inner space, ``第101号``, lower-case letters. The canonical form is the one
the national style for official document numbers uses (GB/T 9704: the year in 〔〕, half-width digits, no
第 before the serial number): it is what the gateway publishes and what the business key is made of, so
every variant names the same record. Search (the console, ``audit trace``) uses :func:`search_form`,
which also folds the remaining brackets, so a pasted ``(长)`` finds ``（长）``.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Anything the canonical form changes: a space, a full-width or compatibility character, a bracket, 第,
# a lower-case letter, a dash. A number without any is canonical already (most are): decided by one search.
_NOT_CANONICAL = re.compile(r"[\s\u3000\uff00-\uffef\[\]()【】〖〗﹝﹞第a-z\u2010-\u2015\ufe63]")
# the year in any bracket: 〔2026〕 [2026] (2026) 【2026】 〖2026〗 ﹝2026﹞ (NFKC has made （） into ())
_YEAR = re.compile(r"[〔\[(【〖﹝]\s*((?:19|20)\d{2})\s*[〕\])】〗﹞]")
_ORDINAL = re.compile(r"〕第(\d)")  # 〔2026〕第101号 → 〔2026〕101号
_DASHES = re.compile(r"[‐‑‒–—―－﹣]")
_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")",
                           "〖": "(", "〗": ")", "﹝": "(", "﹞": ")"})


def canonical_document_no(text: str) -> str:
    """The canonical 文书号: NFKC (full-width digits, letters and brackets to half-width), no spaces,
    the year in 〔〕, no 第 before the serial number, upper-case letters, one kind of hyphen."""
    if _NOT_CANONICAL.search(text) is None and unicodedata.is_normalized("NFKC", text):
        return text
    value = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    value = _YEAR.sub(r"〔\1〕", value)
    value = _ORDINAL.sub(r"〕\1", value)
    return _DASHES.sub("-", value).upper()


def search_form(text: str) -> str:
    """:func:`canonical_document_no` with every bracket folded to ``()``: for matching what people
    type against what is stored, never for publishing."""
    return canonical_document_no(text).translate(_BRACKETS)
