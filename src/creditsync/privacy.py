"""Personal data: natural persons' ID numbers never leave the push payload unmasked."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from creditsync.settings import hash_key
from creditsync.strict_text import is_identifier_field

# Field codes whose values are personal ID numbers, for every category prefix (XK_, CF_, QZ_, ...).
ID_NUMBER_FIELD = re.compile(r"^[A-Z]+_(XDR|FR)_ZJHM$")
# A resident ID number anywhere in free text, however it was typed: half- or full-width digits, one
# separator (space, ideographic space, a hyphen or dash) between any two digits, 18 characters (the last
# may be X) or the 15 of the numbers issued before 1999. What makes it an ID number is a plausible birth
# date where GB 11643 puts it (so an all-digit 统一社会信用代码, a phone number or an amount is left
# alone); a letter may follow it ("…1234号", "…123X身份证"), a digit may not.
_DIGIT = "[0-9\uff10-\uff19]"
_SEP = "[ \u3000\\-\u2010-\u2015\uff0d\ufe63]?"
_CHECK = "[0-9\uff10-\uff19Xx\uff38\uff58]"
ID_NUMBER_IN_TEXT = re.compile(
    f"(?<![0-9\uff10-\uff19])[1-9\uff11-\uff19](?:{_SEP}{_DIGIT}){{13}}"
    f"(?:{_SEP}{_DIGIT}(?:{_SEP}{_DIGIT}{{1}}){{2}}{_SEP}{_CHECK}|{_SEP}{_DIGIT})(?![0-9\uff10-\uff19])")
# Text without a run of six digits (either width) holds no ID number: decided without the full pattern.
_SIX_DIGITS = re.compile("[0-9\uff10-\uff19]{6}")
_FOLD = str.maketrans({**{chr(0xFF10 + n): str(n) for n in range(10)},
                       "\uff38": "X", "\uff58": "X", "x": "X"})
_NOT_DIGIT = re.compile("[^0-9X]")


def _birth_date_plausible(number: str) -> bool:
    date_text = number[6:14] if len(number) == 18 else "19" + number[6:12]
    year, month, day = int(date_text[:4]), int(date_text[4:6]), int(date_text[6:8])
    return 1800 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def id_number_in(candidate: str, *, short: bool = True) -> str | None:
    """The ID number a matched run of text is (folded to 18 or 15 half-width characters), or None."""
    number = _NOT_DIGIT.sub("", candidate.translate(_FOLD))
    if len(number) == 18 and number[:17].isdigit() and _birth_date_plausible(number):
        return number
    if short and len(number) == 15 and number.isdigit() and _birth_date_plausible(number):
        return number
    return None


def mask_id(value: str) -> str:
    """``370102199001011234`` → ``370102********1234`` (the display form of GB 11643 numbers); other
    documents (passports, permits) keep only their last 4 characters."""
    value = str(value).strip()
    if len(value) <= 6:
        return "*" * len(value)
    if len(value) < 15:
        return "*" * (len(value) - 4) + value[-4:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_text(text: str, *, short: bool = True) -> str:
    """Mask every resident ID number in free text, in any of its written forms. ``short``: also the
    15-digit numbers (False where a 15-digit value is an organisation's registration number)."""
    if len(text) < 15 or _SIX_DIGITS.search(text) is None:  # the common case, decided fast
        return text
    return ID_NUMBER_IN_TEXT.sub(lambda m: _masked(m.group(), short), text)


def _masked(candidate: str, short: bool) -> str:
    number = id_number_in(candidate, short=short)
    return candidate if number is None else mask_id(number)


def is_id_field(field_code: str) -> bool:
    return bool(ID_NUMBER_FIELD.match(field_code))


def mask_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a canonical or raw record with ID numbers masked (by field code and in any text), at
    any depth of dicts and lists, and also where an ID number arrives as a JSON or spreadsheet number:
    a masked number becomes masked text."""
    return {key: _mask_value(key, value) for key, value in data.items()}


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if value and is_id_field(key):
            return mask_id(value)
        return mask_text(value, short=not is_identifier_field(key))  # 15 digits: a registration number
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
        # identifier fields of a valid record hold validated codes (USCC, registration numbers), not text
        if key not in id_fields and value not in _CLEAN_TEXTS and not is_identifier_field(key):
            unseen.append(value)
    if unseen and _SIX_DIGITS.search("\n".join(unseen)) and mask_text("\n".join(unseen)) != "\n".join(unseen):
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
