"""Simulator of 长清区市场监督管理局's case and licensing system (department ``market_supervision``).

A stdlib ``ThreadingHTTPServer``; every request needs ``Authorization: Bearer <token>``.

    GET  /api/v1                    service description
    GET  /api/v1/decisions?type=penalty|license&updated_since=<ISO>&page=N&page_size=M   (M ≤ 100)
         → {"items": [...], "page": N, "page_size": M, "total_pages": T, "total": K, "next": link|null}
           items sorted by (updated_at, id); ``updated_since`` is inclusive (>=)
    GET  /api/v1/decisions/<id>     one record
    POST /_sim/records  {"type": "penalty", "fields": {...}}        add a decision (today, new id)
                        {"id": "P000003", "fields": {...}}          correct one; updated_at moves on
    POST /_sim/faults   {"kind": "503", "times": 2}                 500/503/429/bad_json/drop

Field names, department codes and the deliberately broken records are documented in
:mod:`creditsync.simulators.departments.market_supervision_data`. Typical use::

    with start_in_thread(token="t0k", seed=7) as sim:
        ...  # sim.url, sim.broken_ids, sim.update("P000003", status="撤销")
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import signal
import socket
from collections.abc import Mapping
from datetime import date
from http.server import BaseHTTPRequestHandler
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from creditsync.simulators.departments._serving import RunningServer, TokenServer
from creditsync.simulators.departments.market_supervision_store import (
    MAX_PAGE_SIZE,
    DecisionStore,
    QueryError,
    parse_since,
)

logger = logging.getLogger(__name__)

DEPARTMENT = "market_supervision"
SERVICE = {"system": "长清区市场监督管理局 行政处罚与行政许可系统（模拟）", "department": DEPARTMENT,
           "endpoints": ["/api/v1/decisions?type=penalty|license"]}
_ONE = re.compile(r"^/api/v1/decisions/([A-Za-z0-9_-]+)$")
MAX_BODY_BYTES = 1024 * 1024


class _Server(TokenServer[DecisionStore]):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # the name http.server dispatches to
        if not self._authorised():
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path in ("/", "/api/v1", "/api/v1/"):
            self._write(200, SERVICE)
        elif parts.path == "/api/v1/decisions":
            self._list(parts.path, query)
        elif match := _ONE.match(parts.path):
            record = self.server.store.get(match.group(1))
            if record is None:
                self._error(404, "not_found", "no such record")
            else:
                self._write(200, record)
        else:
            self._error(404, "not_found", f"no route {parts.path}")

    def do_POST(self) -> None:
        if not self._authorised():
            return
        body = self._json_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        try:
            if path == "/_sim/records":
                self._write(200, self._change(body))
            elif path == "/_sim/faults":
                self.server.store.inject_fault(str(body.get("kind")), int(body.get("times", 1)))
                self._write(200, {"ok": True})
            else:
                self._error(404, "not_found", f"no route {path}")
        except (QueryError, TypeError, ValueError) as exc:
            self._error(400, "bad_request", str(exc))
        except KeyError as exc:
            self._error(404, "not_found", f"no record {exc}")

    def _list(self, path: str, query: Mapping[str, str]) -> None:
        if fault := self.server.store.take_fault():
            self._fault(fault)
            return
        try:
            since = parse_since(query["updated_since"]) if query.get("updated_since") else None
            kind = query.get("type", "penalty")
            page, size = _int(query, "page", 1), _int(query, "page_size", 20)
            body = self.server.store.page(kind, since, page, size)
        except QueryError as exc:
            self._error(400, "bad_request", str(exc))
            return
        has_next = page < body["total_pages"]
        body["next"] = f"{path}?{urlencode({**query, 'page': page + 1})}" if has_next else None
        self._write(200, body)

    def _change(self, body: Mapping[str, Any]) -> dict[str, Any]:
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise QueryError("fields must be an object")
        if body.get("id"):
            return self.server.store.update(str(body["id"]), **fields)
        return self.server.store.add_decision(str(body.get("type", "penalty")), **fields)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
        self._error(401, "unauthorized", "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        return False

    def _json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(413, "too_large", "body too large")
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._error(400, "bad_request", "body must be a JSON object")
            return None
        return body

    def _fault(self, fault: str) -> None:
        if fault == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        elif fault == "bad_json":
            self._send(200, b'{"items": [{"id": "P0', {})
        else:
            retry = {"Retry-After": "1"} if fault in ("429", "503") else {}
            self._error(int(fault), "injected_fault", f"injected fault {fault}", retry)

    def _error(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._write(status, {"error": code, "message": message}, headers)

    def _write(self, status: int, payload: object, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers or {})

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        logger.debug("%s " + format, self.address_string(), *args)


def _int(query: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(query.get(name) or default)
    except ValueError:
        raise QueryError(f"{name} must be an integer") from None


class RunningMarketSupervision(RunningServer[DecisionStore]):
    """The simulator serving in a background thread, with the test hooks of its store."""

    def add_decision(self, kind: str = "penalty", **fields: Any) -> dict[str, Any]:
        return self.store.add_decision(kind, **fields)

    def update(self, record_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update(record_id, **fields)

    def rekey(self, record_id: str, new_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.rekey(record_id, new_id, **fields)

    def inject_fault(self, kind: str, times: int = 1) -> None:
        self.store.inject_fault(kind, times)


def start_in_thread(
    port: int = 0,
    token: str | None = None,
    seed: int = 7,
    count: int | None = None,
    *,
    host: str = "127.0.0.1",
    penalties: int = 60,
    licenses: int = 40,
    today: date | None = None,
    invalid_share: float = 0.0,
    max_page_size: int = MAX_PAGE_SIZE,
) -> RunningMarketSupervision:
    """Serve on ``host:port`` (0 = any free port). ``count`` splits 60/40 into penalties/licences;
    without ``token`` a random one is made (read it from ``.token``). ``invalid_share`` breaks that share
    of the records on top of the documented defects; ``max_page_size`` raises the page-size limit."""
    if count is not None:
        penalties = round(count * 0.6)
        licenses = count - penalties
    store = DecisionStore(seed, penalties, licenses, today, invalid_share=invalid_share,
                          max_page_size=max_page_size)
    return RunningMarketSupervision(_Server((host, port), _Handler, store, token), DEPARTMENT)


def run_market_supervision_simulator(
    host: str, port: int, token: str, seed: int = 7, *, penalties: int = 60, licenses: int = 40,
    invalid_share: float = 0.0, max_page_size: int = MAX_PAGE_SIZE,
) -> None:
    """Serve until SIGTERM or SIGINT (for the CLI and benchmarks); prints the URL once it is listening."""
    store = DecisionStore(seed, penalties, licenses, invalid_share=invalid_share, max_page_size=max_page_size)
    server = _Server((host, port), _Handler, store, token)
    signal.signal(signal.SIGTERM, _interrupt)
    bound_host, bound_port = server.server_address[:2]
    print(f"{DEPARTMENT} simulator listening on http://{bound_host!s}:{bound_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("%s simulator stopping", DEPARTMENT)
    finally:
        server.server_close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds serve_forever exactly like Ctrl-C does
