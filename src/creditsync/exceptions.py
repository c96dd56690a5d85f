"""Every error the gateway raises, organised by what the caller must do.

    CreditSyncError
    ├── ConfigurationError      fix the configuration; retrying will not help
    ├── RetriableError          transient: retry later (transport failure, 429, 5xx)
    │   └── RateLimitedError    the peer asked us to wait ``retry_after`` seconds
    ├── FatalError              stop this run; a person must look (auth refused, protocol broken)
    └── SkippableRecordError    this record is bad: quarantine it, carry on with the rest

Field-level problems are described by :class:`FieldError`, which names the standard field code
(``CF_XDR_SHXYM``) and says what is wrong in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record."""

    field: str
    message_zh: str
    message_en: str

    @property
    def message(self) -> str:
        return f"{self.message_zh} ({self.message_en})"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


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


@dataclass
class RecordProblems:
    """Errors collected for one record, in the order they were found."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_code: str, zh: str, en: str) -> None:
        self.errors.append(FieldError(field_code, zh, en))

    def __bool__(self) -> bool:
        return bool(self.errors)
