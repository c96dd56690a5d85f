"""A fake transport for the platform client: a requests adapter that plays scripted answers.

Nothing here touches the network. (A module with a unique name rather than conftest, so tests can
import its helpers without clashing with other directories' conftest modules.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

BASE_URL = "http://platform.test"
APP_KEY = "test-app-key"

Answer = requests.Response | Exception


def envelope(rows: list[dict[str, Any]] | None = None, code: int = 200, msg: str = "成功") -> dict[str, Any]:
    return {"code": code, "data": {"code": str(code), "msg": msg, "data": rows or [], "error": ""}}


def response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
    """A response as the transport would build it; ``body`` is JSON-encoded unless bytes."""
    answer = requests.Response()
    answer.status_code = status
    answer.headers = CaseInsensitiveDict(headers or {})
    answer._content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    answer.encoding = "utf-8"
    return answer


def results_for(request: requests.PreparedRequest, status: str = "accepted") -> list[dict[str, Any]]:
    """Echo one result per record of a push request."""
    body = json.loads(request.body or b"{}")
    return [
        {"idempotency_key": r["idempotency_key"], "status": status, "platform_id": "f" * 32, "errors": []}
        for r in body["records"]
    ]


class FakeTransport(BaseAdapter):
    """Answers requests from a script: each entry is a Response, an exception to raise, or a callable
    that builds the answer from the request. The last entry repeats when the script runs out."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[Answer | Callable[[requests.PreparedRequest], Answer]] = []
        self.seen: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.seen.append(request)
        entry = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        answer = entry(request) if callable(entry) else entry
        if isinstance(answer, Exception):
            raise answer
        answer.request, answer.url = request, request.url or ""
        return answer

    def close(self) -> None:
        pass
