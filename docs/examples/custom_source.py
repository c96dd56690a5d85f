"""A department system that is not a standard kind: a case system answering JSON-RPC calls
(``POST /rpc {"method": "cases.changedSince", "params": {...}}``). The source yields plain dicts after
a cursor; the framework does the rest (options, key and cursor, order and boundary re-reads, bad
items, limits and deadlines, rate limiting, reading again after a transient failure).

Install it as a package with an entry point (``creditsync.adapters``: ``case_rpc =
district_adapters.case_rpc:CaseRpcSource``), or import it before the department files load.
``FakeCaseSystem`` is the small fake the conformance suite runs it against.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from pydantic import Field

from creditsync.exceptions import FatalError, RetriableError
from creditsync.sources.base import ItemError, SourceAdapter, StreamOptions
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import register_adapter


class CaseRpcOptions(StreamOptions):
    """key_field, cursor_field, cursor_format and timezone come with StreamOptions."""

    method: str = "cases.changedSince"
    batch: int = Field(default=200, ge=1, le=1000)


@register_adapter
class CaseRpcSource(SourceAdapter):
    kind = "case_rpc"
    options_model = CaseRpcOptions
    stream_options_model = CaseRpcOptions

    def records(self, read: StreamRead) -> Iterator[dict[str, Any] | ItemError]:
        since, after = read.cursor_text(), None  # the cursor, written as the system writes it
        while read.more_pages():
            read.start_page()  # rate limited; the page's deadline starts
            rows = self._call(read, {"since": since, "after": after, "limit": read.options.batch})
            for row in rows:
                yield row if isinstance(row, dict) else ItemError("not an object", {"value": row})
            if len(rows) < read.options.batch:
                return
            last = next((row for row in reversed(rows) if isinstance(row, dict)), {})
            since, after = str(last.get("updated_at", since)), str(last.get("id") or "")

    def check(self) -> None:  # optional: the default does nothing
        self._call(None, {"limit": 1})

    def _call(self, read: StreamRead | None, params: dict[str, Any]) -> list[Any]:
        assert self.connection is not None
        timeout = 30.0 if read is None else max(0.1, min(30.0, read.remaining()))
        body = {"method": self.options.method, "params": params}
        try:
            answer = requests.post(self.connection.base_url + "/rpc", json=body, timeout=timeout,
                                   headers={"X-Token": self.connection.password or ""})
        except requests.RequestException as exc:
            if read is not None:
                read.check()  # timed out at the page's deadline: that is the error to report
            raise RetriableError(f"{self._where()}: cannot reach the case system: {exc}") from exc
        status = answer.status_code
        if status in (401, 403):
            raise FatalError(f"{self._where()}: the case system refused the token (HTTP {status})")
        if status >= 500:
            raise RetriableError(f"{self._where()}: the case system answered HTTP {status}")
        result: list[Any] = answer.json()["result"]
        return result

    @classmethod
    def sample_source(cls, config: Any, samples: Path, workdir: Path) -> Any:
        """The conformance suite's live source: the fake over the department's sample records."""
        from creditsync.testing import LiveSource
        from creditsync.testing.samples import read_jsonl

        fake = FakeCaseSystem(read_jsonl(samples / f"{config.streams[0].category}.jsonl"))
        env = {f"AIRFLOW_CONN_{config.source.connection_id.upper()}": fake.url}
        return LiveSource(env=env, stop=fake.stop)


class FakeCaseSystem:
    """The case system's JSON-RPC export, in a thread: cases sorted by (updated_at, id), from ``since``
    inclusive and after ``after`` at that instant. ``fail_next`` answers 503 that many times."""

    def __init__(self, rows: list[dict[str, Any]], token: str = "case-token") -> None:
        self.rows, self.token, self.fail_next, self.calls = rows, token, 0, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server dispatches to
                params = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["params"]
                fake.calls += 1
                if self.headers.get("X-Token") != fake.token:
                    self._answer(401, {"error": "token"})
                elif fake.fail_next:
                    fake.fail_next -= 1
                    self._answer(503, {"error": "busy"})
                else:
                    self._answer(200, {"result": fake.page(params)})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        serve.daemon = True
        serve.start()
        self.url = f"http://:{token}@127.0.0.1:{self._server.server_address[1]}"

    def page(self, params: dict[str, Any]) -> list[Any]:
        """From ``since`` inclusive; with ``after``, only what sorts after (since, after)."""
        since, after = params.get("since") or "", params.get("after")
        rows = sorted((r for r in self.rows if str(r.get("updated_at")) >= since), key=_position)
        if after is not None:
            rows = [r for r in rows if _position(r) > (since, after)]
        return rows[: int(params["limit"])]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _position(row: dict[str, Any]) -> tuple[str, str]:
    return str(row.get("updated_at")), str(row.get("id") or "")
