"""A simulator of the municipal credit platform's push API (docs/platform-protocol.md), with faults.

Stdlib only: ``ThreadingHTTPServer`` in front of :mod:`creditsync.simulators.platform_store`.
Faults are drawn from one seeded RNG, so a sequential client meets the same faults on every run::

    sim = PlatformSimulator(validator=..., faults=FaultConfig(fault_rate=0.3, seed=7))
    with sim.start_in_thread() as running:
        PlatformClient(running.url, sim.app_key).push(...)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from creditsync.exceptions import ConfigurationError
from creditsync.simulators.platform_credit import GRADES_PATH, LISTS_PATH, PlatformCredit
from creditsync.simulators.platform_faults import FaultConfig, FaultDice
from creditsync.simulators.platform_repairs import PlatformRepairs
from creditsync.simulators.platform_store import (
    Checker,
    IncomingRecord,
    PlatformStore,
    Problem,
    apply_batch,
    parse_push,
)

logger = logging.getLogger(__name__)

# A validator returns the Chinese messages that reject ``data``; an empty list means valid.
Validator = Callable[[str, Mapping[str, Any]], Sequence[str]]

_RECORD = re.compile(r"^/api/v1/records/([0-9a-f]{32})$")
RECORDS_PER_QUERY = 200  # platform ids one read of many copies may name
_CATEGORY_RECORDS = re.compile(r"^/api/v1/([a-z][a-z0-9_]*)/records$")
MAX_BODY_BYTES = 16 * 1024 * 1024
_CREDIT_ADMIN = "/_sim/credit"
NO_HEADERS: Mapping[str, str] = {}


def schema_validator(category: str, data: Mapping[str, Any]) -> list[str]:
    """The default validator: the gateway's own schema, as the platform would apply it."""
    schema = importlib.import_module("creditsync.schema")  # lazy: the simulator must import without it
    result = schema.validate_record(category, dict(data))
    messages = [error.message_zh for error in result.errors]
    if not messages and getattr(result, "ok", True) is False:
        messages = ["数据校验未通过"]
    return messages


def _require_schema() -> None:
    try:
        importlib.import_module("creditsync.schema")
    except ImportError as exc:
        raise ConfigurationError("creditsync.schema is missing: give PlatformSimulator a validator") from exc


class PlatformSimulator:
    """The platform's behaviour, independent of HTTP: push, query-back, record lookup, stats."""

    def __init__(
        self,
        store_path: str | None = None,
        app_key: str = "demo-app-key",
        validator: Validator | None = None,
        faults: FaultConfig | None = None,
        *,
        max_batch: int = 500,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if validator is None:
            _require_schema()
        self.app_key = app_key
        self.max_batch = max_batch
        self.max_body_bytes = max_body_bytes  # a larger request body is answered 413
        self.store = PlatformStore(store_path)
        self.repairs = PlatformRepairs(self.store)  # the credit repair feed
        self.credit = PlatformCredit()  # joint-punishment lists and grades (§8)
        self._validator: Validator = validator or schema_validator
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.set_faults(faults or FaultConfig())

    @property
    def faults(self) -> FaultConfig:
        return self.dice.config

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the faults of a running simulator (the RNG restarts from ``faults.seed``)."""
        self.dice = FaultDice(faults)

    def count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def push(self, category: str, records: list[IncomingRecord]) -> list[dict[str, Any]]:
        if len(records) > self.max_batch:
            raise Problem(413, f"单批记录数超过上限{self.max_batch}条")
        check = self._checker(category)
        try:  # all or nothing: an unknown category rolls the batch back
            results = [result.as_dict() for result in apply_batch(self.store, category, records, check)]
        except ConfigurationError as exc:  # the schema's answer to a category it does not know
            raise Problem(404, f"未知的数据类别：{category}") from exc
        self.count("batches")
        return [self._maybe_without_id(result) for result in results]

    def query(self, category: str, keys: list[str]) -> list[dict[str, Any]]:
        if not keys:
            raise Problem(400, "缺少查询参数idempotency_key")
        results = [result.as_dict() for result in self.store.results_for(category, keys)]
        if not self.faults.missing_id_on_query:
            return results
        return [self._maybe_without_id(result) for result in results]

    def _maybe_without_id(self, result: dict[str, Any]) -> dict[str, Any]:
        """The ``missing_id_rate`` fault: an acceptance that does not name the row it created."""
        if result["status"] == "rejected" or not self.faults.missing_id_rate or not self.dice.missing_id():
            return result
        self.count("missing_id")
        return {**result, "platform_id": None}

    def records(self, platform_ids: list[str]) -> list[dict[str, Any]]:
        """The copies of many records at once (§3.4); ids the platform does not know are left out."""
        if not platform_ids or len(platform_ids) > RECORDS_PER_QUERY:
            raise Problem(400, f"platform_id须为1至{RECORDS_PER_QUERY}个")
        return [found for pid in dict.fromkeys(platform_ids) if (found := self.store.find(pid)) is not None]

    def record(self, platform_id: str) -> list[dict[str, Any]]:
        found = self.store.find(platform_id)
        if found is None:
            raise Problem(404, "平台记录不存在")
        return [found]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        faults = {k: v for k, v in counts.items() if k not in ("requests", "batches")}
        extra = {"requests": counts.get("requests", 0), "batches": counts.get("batches", 0)}
        return {**self.store.counts(), **extra, "faults": faults}

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
        server = self._server(host, port)
        # A short poll interval makes stop() quick: shutdown() waits for the loop's next poll.
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="platform-sim", daemon=True)
        thread.start()
        return RunningSimulator(self, server, thread)

    def serve_forever(self, host: str, port: int) -> None:
        server = self._server(host, port)
        logger.info("platform simulator listening on %s", _url(server))
        try:
            server.serve_forever()
        finally:
            server.server_close()

    def close(self) -> None:
        self.store.close()

    def _server(self, host: str, port: int) -> _Server:
        return _Server((host, port), self)

    def _checker(self, category: str) -> Checker:
        def check(record: IncomingRecord) -> list[str]:
            errors = list(self._validator(category, record.data))
            if not errors and (message := self.dice.rejection()):
                self.count("reject")
                errors = [message]
            return errors

        return check


class _Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], simulator: PlatformSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 on purpose: one request per connection, so a dropped connection never poisons a pool."""

    delay = 0.0  # set by a "slow" fault: the answer is computed, then held back this long

    @property
    def sim(self) -> PlatformSimulator:
        assert isinstance(self.server, _Server)
        return self.server.simulator

    def do_GET(self) -> None:  # the name http.server dispatches to
        url = urlsplit(self.path)
        if url.path == "/_sim/stats":  # never faulted or counted: the test harness reads it
            self._write(200, self.sim.stats())
            return
        self._api(lambda: self._get(url.path, parse_qs(url.query)))

    def do_POST(self) -> None:
        body = self._read_body()  # read it all first, so a dropped answer is not a reset mid-send
        if self.path.startswith(_CREDIT_ADMIN):  # the credit authority's desk: never faulted, no appKey
            self._credit_admin(urlsplit(self.path).path, body or b"{}")
            return
        self._api(lambda: self._post(urlsplit(self.path).path, body))

    def _api(self, answer: Callable[[], list[dict[str, Any]] | None]) -> None:
        self.sim.count("requests")
        fault = self.sim.dice.transient()
        if fault is not None:
            self.sim.count(fault)
            if fault != "slow":
                self._inject(fault)
                return
            self.delay = self.sim.faults.slow_ms / 1000
        if self.headers.get("appKey") != self.sim.app_key:
            self._envelope(401, "appKey无效或已过期")
            return
        try:
            rows = answer()
        except Problem as problem:
            self._envelope(problem.status, problem.msg)
            return
        except Exception:  # a simulator bug must look like a 500, not a dropped socket
            logger.exception("platform simulator failed")
            self._envelope(500, "平台内部错误")
            return
        if rows is not None:
            self._envelope(200, "操作成功", rows)

    def _get(self, path: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        if match := _RECORD.match(path):
            return self.sim.record(match.group(1))
        if path == "/api/v1/records":
            return self.sim.records(query.get("platform_id", []))
        if match := _CATEGORY_RECORDS.match(path):
            return self.sim.query(match.group(1), query.get("idempotency_key", []))
        if path == self.sim.repairs.path:
            return self.sim.repairs.since(query)
        if path == LISTS_PATH:
            return self.sim.credit.lists_since(query)
        if path == GRADES_PATH:
            return self.sim.credit.grades_since(query)
        raise Problem(404, "接口不存在")

    def _post(self, path: str, body: bytes | None) -> list[dict[str, Any]] | None:
        match = _CATEGORY_RECORDS.match(path)
        if match is None:
            raise Problem(404, "接口不存在")
        if body is None:
            raise Problem(413, "请求体过大")
        rows = self.sim.push(match.group(1), parse_push(body))
        lost = self.sim.dice.lost_ack()
        if lost is None:
            return rows
        # Committed above, but the client never learns it: the case idempotency keys exist for.
        self.sim.count(lost)
        if lost == "lost_ack_drop":
            self._drop()
        else:
            self._envelope(502, "网关错误")
        return None

    def _credit_admin(self, path: str, body: bytes) -> None:
        """``POST /_sim/credit/lists`` places, ``…/lists/{entry_id}/repair`` and ``…/remove`` end an entry,
        ``/_sim/credit/grades`` grades a subject; each answers the event it made."""
        credit = self.sim.credit
        try:
            fields = json.loads(body)
            if not isinstance(fields, dict):
                raise Problem(400, "请求体须为JSON对象")
            parts = path.removeprefix(_CREDIT_ADMIN).strip("/").split("/")
            if parts == ["lists"]:
                row = credit.place(fields)
            elif parts == ["grades"]:
                row = credit.grade(fields)
            elif len(parts) == 3 and parts[0] == "lists" and parts[2] == "repair":
                row = credit.repair(parts[1], str(fields.get("decision_no", "")),
                                    str(fields.get("reason", "")))
            elif len(parts) == 3 and parts[0] == "lists" and parts[2] == "remove":
                row = credit.remove(parts[1], str(fields.get("reason", "")))
            else:
                raise Problem(404, "接口不存在")
        except Problem as problem:
            self._envelope(problem.status, problem.msg)
            return
        except ValueError:
            self._envelope(400, "请求体不是有效的JSON")
            return
        self._envelope(200, "操作成功", [row])

    def _inject(self, fault: str) -> None:
        if fault == "drop":
            self._drop()
        elif fault == "429":
            self._envelope(429, "请求过于频繁，请稍后重试", retry_after=str(self.sim.dice.retry_after()))
        elif fault == "503":
            # An HTTP-date, not seconds: the client must understand both forms.
            when = datetime.now(UTC) + timedelta(seconds=self.sim.dice.retry_after())
            self._envelope(503, "服务暂不可用，请稍后重试", retry_after=format_datetime(when, usegmt=True))
        else:
            self._envelope(int(fault), "服务器内部错误" if fault == "500" else "网关错误")

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over the limit (answered 413). A bad length reads as empty (400)."""
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return b""
        body = self.rfile.read(length) if length else b""
        return body if length <= self.sim.max_body_bytes else None

    def _envelope(
        self, status: int, msg: str, rows: list[dict[str, Any]] | None = None, retry_after: str | None = None
    ) -> None:
        inner = {"code": str(status), "msg": msg, "data": rows or [], "error": "" if status == 200 else msg}
        headers = {"Retry-After": retry_after} if retry_after else {}
        self._write(status, {"code": status, "data": inner}, headers)

    def _write(self, status: int, payload: object, headers: Mapping[str, str] = NO_HEADERS) -> None:
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        time.sleep(self.delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except OSError:  # the client gave up (a slow answer past its timeout): nothing to tell it
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        logger.debug("%s " + format, self.address_string(), *args)


class RunningSimulator:
    """A simulator serving in a background thread; a context manager that stops it on exit."""

    def __init__(self, simulator: PlatformSimulator, server: _Server, thread: threading.Thread) -> None:
        self.simulator = simulator
        self._server = server
        self._thread = thread
        self.url = _url(server)

    def stats(self) -> dict[str, Any]:
        return self.simulator.stats()

    def stop(self) -> None:
        """Stop serving; waits for requests in flight (a slow answer included). The store stays open."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _url(server: _Server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def run_platform_simulator(
    host: str,
    port: int,
    store_path: str | None,
    faults: FaultConfig,
    app_key: str,
    validator: Validator | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM (for ``creditsync platform-sim``); validates with the real schema
    unless given another ``validator``."""
    simulator = PlatformSimulator(store_path, app_key=app_key, validator=validator, faults=faults)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        simulator.serve_forever(host, port)
    except KeyboardInterrupt:
        logger.info("platform simulator stopping")
    finally:
        simulator.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds serve_forever exactly like Ctrl-C does
