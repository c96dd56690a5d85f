"""The platform client: push a batch of records, query results back, all through one retry policy.

The wire protocol is described in docs/platform-protocol.md. Splitting the outbox into batches, and
persisting receipts, is the caller's job; this module only speaks HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import msgspec
import requests
from tenacity import Retrying

from creditsync import http
from creditsync.delivery import _wire
from creditsync.delivery.errors import PLATFORM_ERRORS, PlatformProtocolError, PlatformRefusedError
from creditsync.delivery.retry import default_retry_policy
from creditsync.exceptions import ConfigurationError
from creditsync.sinks.base import Action, PushItem, Receipt, Status, unique_keys

__all__ = ["Action", "PlatformClient", "PushItem", "Receipt", "Status"]

# Categories become a path segment: accept only what the platform's routes can contain.
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]*$")
# Query-back puts keys in the URL; keep each URL well under common 8 KiB limits (64-hex keys).
QUERY_CHUNK = 50


class PlatformClient:
    """Talks to the municipal platform (or its simulator) over HTTP with an ``appKey`` header.

    ``session`` is the transport seam (tests mount a fake adapter); ``retrying`` is the injected policy
    (default: :func:`default_retry_policy`). Every call is retried as a whole, which is safe because a
    resent idempotency key never creates a second row.

    It is the ``api`` sink (:mod:`creditsync.sinks`): answers come with the request, and the platform's
    copies can be read back.
    """

    name = "api"
    asynchronous = False
    can_read_copies = True

    def __init__(
        self,
        base_url: str,
        app_key: str,
        *,
        session: requests.Session | None = None,
        retrying: Retrying | None = None,
        timeout: tuple[float, float] = (5, 30),
    ) -> None:
        if not app_key:
            raise ConfigurationError("the platform appKey is empty")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError("the platform URL must start with http:// or https://", url=base_url)
        self.base_url = base_url.rstrip("/")
        self._app_key = app_key
        self._secrets = (app_key,)
        self._session = session if session is not None else requests.Session()
        self._retrying = retrying if retrying is not None else default_retry_policy()
        self._timeout = timeout

    def push(self, category: str, items: Sequence[PushItem], batch_id: str) -> list[Receipt]:
        """Send one batch; receipts in the items' order.

        An item the platform did not answer has no receipt: it stays unconfirmed and is resent, with
        the same key, by the caller. A result for a key that was not in the batch is a protocol error.
        """
        if not items:
            return []
        keys = _unique_keys(items)
        body = {"batch_id": batch_id, "records": [item.as_wire() for item in items]}
        rows = self._call("POST", f"/api/v1/{_checked(category)}/records", body=body)
        by_key = _receipts_by_key(rows)
        if not by_key.keys() <= set(keys):
            raise PlatformProtocolError("the platform answered for records not in the batch", batch=batch_id)
        return [by_key[key] for key in keys if key in by_key]

    def query(self, category: str, idempotency_keys: Iterable[str]) -> dict[str, Receipt]:
        """Results the platform remembers for these keys; unknown keys are absent from the answer."""
        keys = list(dict.fromkeys(idempotency_keys))
        found: dict[str, Receipt] = {}
        for start in range(0, len(keys), QUERY_CHUNK):
            params = {"idempotency_key": keys[start : start + QUERY_CHUNK]}
            rows = self._call("GET", f"/api/v1/{_checked(category)}/records", params=params)
            found.update(_receipts_by_key(rows))
        return found

    def records(self, platform_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The platform's current copies of many records (§3.4), by platform id; unknown ids are absent.
        One request per QUERY_CHUNK ids, instead of one per record."""
        ids = list(dict.fromkeys(platform_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), QUERY_CHUNK):
            chunk = ids[start : start + QUERY_CHUNK]
            rows = self._call("GET", "/api/v1/records", params={"platform_id": chunk})
            found.update((str(row.get("platform_id")), row) for row in rows)
        return found

    def record(self, platform_id: str) -> dict[str, Any] | None:
        """The platform's current copy of one record (data, status), or None if it does not know it."""
        try:
            rows = self._call("GET", f"/api/v1/records/{quote(platform_id, safe='')}")
        except PlatformRefusedError as exc:
            if exc.status_code == 404:
                return None
            raise
        return rows[0] if rows else None

    def retract(self, category: str, idempotency_keys: Iterable[str]) -> set[str]:
        """An API call that was made cannot be taken back: the record is withdrawn instead."""
        return set()

    def close(self) -> None:
        self._session.close()

    def stats(self) -> dict[str, Any]:
        """Simulator only: ``GET /_sim/stats`` (counts of rows, business keys, faults, ...)."""
        response = self._session.get(self.base_url + "/_sim/stats", timeout=self._timeout)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return http.call_with_retries(self._retrying, lambda: self._send_once(method, path, body, params))

    def _send_once(
        self, method: str, path: str, body: Mapping[str, Any] | None, params: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        # msgspec: the same UTF-8 JSON as json.dumps(ensure_ascii=False), several times faster per batch
        data = msgspec.json.encode(body) if body is not None else None
        headers = {"appKey": self._app_key, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        # No answer at all: the batch may or may not be committed. Retrying with the same keys is safe.
        response = http.send(self._session, method, self.base_url + path, errors=PLATFORM_ERRORS,
                             headers=headers, timeout=self._timeout, params=params, data=data,
                             secrets=self._secrets)
        return _wire.unwrap(response, self._secrets)


def _checked(category: str) -> str:
    if not _CATEGORY.match(category):
        raise ValueError(f"invalid category {category!r}")
    return category


def _unique_keys(items: Sequence[PushItem]) -> list[str]:
    return unique_keys(items)


def _receipts_by_key(rows: list[dict[str, Any]]) -> dict[str, Receipt]:
    return {row.idempotency_key: _receipt(row) for row in _wire.parse_results(rows)}


def _receipt(row: _wire.ResultRow) -> Receipt:
    status: Status = row.status
    if status != "rejected" and not row.platform_id:
        status = "unknown"  # accepted, but as which row? Never trust it: query back
    return Receipt(row.idempotency_key, status, row.platform_id or None, list(row.errors))
