"""Every error the gateway raises, organised by what the caller must do.

    CreditSyncError
    ├── ConfigurationError      fix the configuration; retrying will not help
    ├── RetriableError          transient: retry later (transport failure, 429, 5xx)
    │   └── RateLimitedError    the peer asked us to wait ``retry_after`` seconds
    │   └── IllegalTransition   the record's state does not allow what was asked (withdraw twice, …)
    ├── FatalError              stop this run; a person must look (auth refused, protocol broken)
    ├── SkippableRecordError    this record is bad: quarantine it, carry on with the rest
    └── InvalidRequest          the caller's request is wrong (a check without a subject, an unknown
                                matter): fix it and ask again; nothing was done

Field-level problems are described by :class:`FieldError`, which names the standard field code
(``CF_XDR_SHXYM``) and says what is wrong in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record: a reason kept as data (``field``, ``kind``, ``zh``,
    ``en``), shown from its parts wherever it appears."""

    field: str
    message_zh: str
    message_en: str
    kind: str = "invalid"  # invalid | conflict | unreadable | held_back | platform | tampered | …

    @property
    def message(self) -> str:
        """Both languages (one, when the other is not given: the platform writes Chinese only)."""
        if not self.message_en or self.message_en == self.message_zh:
            return self.message_zh
        return f"{self.message_zh} ({self.message_en})"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "kind": self.kind, "zh": self.message_zh, "en": self.message_en}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> FieldError:
        """A reason as the store keeps it; entries written before reasons were data hold one
        ``message`` text, ``中文 (English)``."""
        if "zh" in stored or "en" in stored:
            return cls(str(stored.get("field", "")), str(stored.get("zh", "")), str(stored.get("en", "")),
                       str(stored.get("kind") or "invalid"))
        message = str(stored.get("message", ""))
        zh, en = split_message(message)
        return cls(str(stored.get("field", "")), zh, en)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def split_message(message: str) -> tuple[str, str]:
    """``中文说明 (English explanation)`` → both parts: the bracket that closes the message is matched back
    to its opening one, so brackets inside either part do not confuse it."""
    text = message.rstrip()
    if not text.endswith(")"):
        return text, text
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            head = text[:index].rstrip()
            if head and index > 0 and text[index - 1] == " ":
                return head, text[index + 1:-1]
            return text, text
    return text, text


class CreditSyncError(Exception):
    """Base of every gateway error; carries optional context (department, record key, ...)."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.context = context

    def __str__(self) -> str:
        base = super().__str__()
        if not self.context:
            return base
        extra = ", ".join(f"{k}={v}" for k, v in self.context.items() if v is not None)
        return f"{base} [{extra}]" if extra else base


class ConfigurationError(CreditSyncError):
    """The configuration (department YAML, mapping, connection, environment) is wrong."""


class IllegalTransition(ConfigurationError):
    """What was asked is not allowed from the record's state (creditsync.lifecycle.transitions)."""


class RetriableError(CreditSyncError):
    """A transient failure: the same call may succeed later."""


class RateLimitedError(RetriableError):
    """The peer answered 429 (or 503) with a Retry-After."""

    def __init__(self, message: str, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class FatalError(CreditSyncError):
    """Stop the run: retrying cannot help and continuing would be wrong."""


class SkippableRecordError(CreditSyncError):
    """One record cannot be processed; it goes to quarantine and the run continues."""

    def __init__(
        self, message: str, errors: Sequence[FieldError] = (), record_key: str | None = None, **context: Any
    ) -> None:
        super().__init__(message, record_key=record_key, **context)
        self.errors: list[FieldError] = list(errors)
        self.record_key = record_key


class InvalidRequest(CreditSyncError):
    """The caller asked for something that cannot be done as asked; nothing was done."""


@dataclass
class RecordProblems:
    """Errors collected for one record, in the order they were found."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_code: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(field_code, zh, en))

    def __bool__(self) -> bool:
        return bool(self.errors)
