"""A subject as the credit loop keeps it: the keyed hash of its USCC or ID number (for matching) and a
display form (a USCC in full, a resident ID number masked). The full number is never stored."""

from __future__ import annotations

from dataclasses import dataclass

from creditsync.exceptions import InvalidRequest
from creditsync.privacy import keyed_hash, mask_id
from creditsync.schema.identifiers import check_resident_id, check_uscc, compact


@dataclass(frozen=True)
class Subject:
    key: str  # privacy.keyed_hash of the normalised number
    shown: str  # USCC in full; a natural person's number masked
    kind: str  # legal | natural

    @classmethod
    def of(cls, number: str) -> Subject:
        text = compact(str(number or "")).upper()
        if not text:
            raise InvalidRequest("subject: give a USCC or an ID number 请提供统一社会信用代码或身份证号")
        if len(text) > 64:
            raise InvalidRequest("subject: too long 主体标识过长")
        if not any(not problem.warning for problem in check_uscc(text)):  # warnings do not matter here
            return cls(keyed_hash(text), text, "legal")
        # Anything that is not a valid USCC is shown masked: it may be a person's number.
        person = not any(not problem.warning for problem in check_resident_id(text))
        return cls(keyed_hash(text), mask_id(text), "natural" if person else "unknown")
