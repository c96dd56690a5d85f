"""Personal data: natural persons' ID numbers never leave the push payload unmasked."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from creditsync.settings import hash_key

# Field codes whose values are personal ID numbers, for every category prefix (XK_, CF_, QZ_, ...).
ID_NUMBER_FIELD = re.compile(r"^[A-Z]+_(XDR|FR)_ZJHM$")
# An 18-character resident ID anywhere in free text (logs, error messages, raw payloads): an area code,
# a plausible birth date, a sequence and a check character. The date part is what tells it from an
# all-digit 统一社会信用代码 (whose 7th-14th characters are no date); the check digit is not required,
# because a mistyped ID number is just as personal.
ID_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# The same pattern without its look-arounds: every match of ID_NUMBER_IN_TEXT is one of these. It starts
# with a character class the regex engine scans for quickly, so a search for it is several times
# faster, and text without such a run is known to hold no ID number.
_ID_NUMBER_CANDIDATE = re.compile(
    r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]")


def mask_id(value: str) -> str:
    """``370102199001011234`` → ``370102********1234`` (the display form of GB 11643 numbers); other
    documents (passports, permits) keep only their last 4 characters."""
    value = str(value).strip()
    if len(value) <= 6:
        return "*" * len(value)
    if len(value) < 15:
        return "*" * (len(value) - 4) + value[-4:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_text(text: str) -> str:
    """Mask every resident ID number that appears in free text."""
    if len(text) < 18 or _ID_NUMBER_CANDIDATE.search(text) is None:  # the common case, decided fast
        return text
    return ID_NUMBER_IN_TEXT.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)


def is_id_field(field_code: str) -> bool:
    return bool(ID_NUMBER_FIELD.match(field_code))


def mask_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a canonical or raw record with ID numbers masked (by field code and in any text), at
    any depth of dicts and lists, and also where an ID number arrives as a JSON or spreadsheet number:
    a masked number becomes masked text."""
    return {key: _mask_value(key, value) for key, value in data.items()}


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return mask_id(value) if value and is_id_field(key) else mask_text(value)
    if isinstance(value, Mapping):
        return mask_record(value)
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _mask_number(key, value)
    return value


def mask_fields_and_numbers(data: Any, key: str = "") -> Any:
    """:func:`mask_record` but for the ID numbers inside text, left to one :func:`mask_text` over the
    serialised whole (the audit trail masks its entries' JSON text that way, once per entry)."""
    if isinstance(data, Mapping):
        return {k: mask_fields_and_numbers(v, k) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_fields_and_numbers(v, key) for v in data]
    if isinstance(data, str):
        return mask_id(data) if data and is_id_field(key) else data
    if isinstance(data, int | float) and not isinstance(data, bool):
        return _mask_number(key, data)
    return data


def _mask_number(key: str, value: int | float) -> int | float | str:
    """An ID number stored as a number (a numeric XLSX cell, a JSON number): masked like its text."""
    digits = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if is_id_field(key):
        return mask_id(digits)
    masked = mask_text(digits)
    return value if masked == digits else masked


MASKED = re.compile(r"\*{4,}")  # what mask_id and mask_text leave of an ID number
# A records.mapped_hash that is never a sha256: the record's stored payload is masked (it held an ID
# number), so it cannot be resent as stored; the next read from the source counts as a change.
REREAD_MARK = "masked:reread"


def is_masked(payload: Any) -> bool:
    """Whether a stored payload holds a masked ID number anywhere (dicts and lists at any depth)."""
    if isinstance(payload, str):
        return MASKED.search(payload) is not None
    if isinstance(payload, Mapping):
        return any(is_masked(value) for value in payload.values())
    if isinstance(payload, list | tuple):
        return any(is_masked(value) for value in payload)
    return False


def mask_payload(payload: Mapping[str, Any], id_fields: frozenset[str]) -> dict[str, Any]:
    """:func:`mask_record` of a flat payload whose ID number fields are known: one scan of its other
    text for an ID number (the common answer is none), then only the ID number fields masked.

    Texts that recur from record to record (a 违法行为类型, a legal basis, the authority) were scanned
    before: a bounded set remembers the ones found clean, so mostly the record's own text is scanned."""
    unseen = []
    for key, value in payload.items():
        if type(value) is not str:
            return mask_record(payload)  # nested values: the general walk
        if key not in id_fields and value not in _CLEAN_TEXTS:
            unseen.append(value)
    if unseen and _ID_NUMBER_CANDIDATE.search("\n".join(unseen)):
        return mask_record(payload)  # an ID number inside some text
    if len(_CLEAN_TEXTS) + len(unseen) > _CLEAN_TEXTS_KEPT:
        _CLEAN_TEXTS.clear()
    _CLEAN_TEXTS.update(text for text in unseen if len(text) <= _CLEAN_TEXT_LONGEST)
    masked = dict(payload)
    for key in id_fields & masked.keys():
        masked[key] = _mask_value(key, masked[key])
    return masked


_CLEAN_TEXTS: set[str] = set()  # texts known to hold no ID number
_CLEAN_TEXTS_KEPT = 4096
_CLEAN_TEXT_LONGEST = 200  # longer texts (违法事实) rarely recur: not worth keeping


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of an ID number, for matching records without storing the number."""
    key = hash_key()
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()
