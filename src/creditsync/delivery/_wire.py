"""The platform's response envelope and status codes, turned into data or classified exceptions.

Envelope (济南 gateway convention)::

    {"code": 200, "data": {"code": "200", "msg": "...", "data": [...], "error": ""}}

Anything but 200, in the HTTP status or in either code, is a failure; see docs/platform-protocol.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from creditsync.delivery.errors import PLATFORM_ERRORS, PlatformProtocolError
from creditsync.exceptions import CreditSyncError
from creditsync.http import classify, parse_retry_after, redact

OK = 200


class _Inner(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int  # the platform sends it as a string ("200"); lax mode converts it
    msg: str | None = None
    data: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int
    data: _Inner


class ResultRow(BaseModel):
    """One per-record result, as the platform sends it (push answers and query-back)."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: str
    status: Literal["accepted", "duplicate", "rejected"]
    platform_id: str | None = None
    errors: list[str] = Field(default_factory=list)


def unwrap(response: requests.Response, secrets: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The inner ``data`` list of a successful answer; otherwise raise the classified error, its
    message with ``secrets`` (the appKey) masked: a platform may echo the request back."""
    envelope = _read_envelope(response)
    status = _effective_status(response.status_code, envelope)
    if status != OK:
        raise _error_for(status, response, envelope, secrets)
    if envelope is None:
        raise PlatformProtocolError("platform answered 200 without a valid envelope", path=_path(response))
    return envelope.data.data


_RESULTS = TypeAdapter(list[ResultRow])  # the whole list in one pydantic-core call, not one per row


def parse_results(rows: list[dict[str, Any]]) -> list[ResultRow]:
    try:
        return _RESULTS.validate_python(rows)
    except ValidationError as exc:
        raise PlatformProtocolError(f"malformed per-record result: {exc.error_count()} problem(s)") from exc


def _read_envelope(response: requests.Response) -> _Envelope | None:
    # Error answers from proxies in front of the platform are often HTML: not an envelope, not a crash.
    try:
        return _Envelope.model_validate_json(response.content)
    except ValidationError:
        return None


def _effective_status(http_status: int, envelope: _Envelope | None) -> int:
    # Chinese government gateways often answer HTTP 200 with the real status inside the envelope.
    if http_status != OK or envelope is None:
        return http_status
    return envelope.code if envelope.code != OK else envelope.data.code


def _error_for(status: int, response: requests.Response, envelope: _Envelope | None,
               secrets: Iterable[str]) -> CreditSyncError:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    message = redact(_describe(status, envelope), secrets)
    return PLATFORM_ERRORS.error(classify(status, retry_after), message, retry_after=retry_after,
                                 status=status, path=_path(response))


def _describe(status: int, envelope: _Envelope | None) -> str:
    if envelope is None:
        return f"platform answered {status}"
    parts = (envelope.data.msg, envelope.data.error)
    detail = "; ".join(dict.fromkeys(part for part in parts if part))  # platforms often repeat msg
    return f"platform answered {status}: {detail}" if detail else f"platform answered {status}"


def _path(response: requests.Response) -> str:
    return urlsplit(response.url or "").path
