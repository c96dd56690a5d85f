"""Simulator of 长清区生态环境分局's legacy exchange system (department ``ecology_environment``): XML feeds.

A stdlib ``ThreadingHTTPServer``; every request needs ``Authorization: Bearer <token>``.

    GET  /exchange/v1                                   service description
    GET  /exchange/v1/penalties?updated_since=<SJC>     行政处罚 feed, record element XZCF
    GET  /exchange/v1/enforcements?updated_since=<SJC>  行政强制 feed, record element XZQZ
    POST /_sim/records  {"type": "penalty", "fields": {...}}   add a decision (decided today)
                        {"id": "XZCF000003", "fields": {...}}  correct one; SJC moves on
    POST /_sim/faults   {"kind": "truncate", "times": 1}       truncate (body cut short) / 500 / 503

A feed is one document, ``<DataPackage xmlns="urn:jinan:changqing:sthj:exchange:2016">`` with a
``Header`` then the records, in decision order (*not* sorted by ``SJC``, as such exports are).
``updated_since`` keeps records with ``SJC >= since`` (``YYYY-MM-DD HH:MM:SS``, ISO with ``T`` or an
offset accepted). Field names and the deliberately broken records are documented in
:mod:`creditsync.simulators.departments.ecology_environment_data`.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
from collections.abc import Mapping
from datetime import date
from http.server import BaseHTTPRequestHandler
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from creditsync.simulators.departments import SimulatorOptions
from creditsync.simulators.departments import ecology_environment_data as data
from creditsync.simulators.departments._serving import RunningServer, TokenServer
from creditsync.simulators.departments.ecology_environment_data import FeedStore, QueryError, parse_since

logger = logging.getLogger(__name__)

DEPARTMENT = "ecology_environment"
NAMESPACE = "urn:jinan:changqing:sthj:exchange:2016"
FEEDS = {"/exchange/v1/penalties": "penalty", "/exchange/v1/enforcements": "enforcement"}
ELEMENTS = {"penalty": "XZCF", "enforcement": "XZQZ"}
MAX_BODY_BYTES = 1024 * 1024


def render(kind: str, records: list[data.Record]) -> bytes:
    """The feed document; absent values are absent elements."""
    root = etree.Element(f"{{{NAMESPACE}}}DataPackage", nsmap={None: NAMESPACE})
    header = etree.SubElement(root, f"{{{NAMESPACE}}}Header")
    for name, value in (("Sender", data.AUTHORITY), ("DFBM", data.DFBM), ("DataType", ELEMENTS[kind]),
                        ("Count", str(len(records)))):
        etree.SubElement(header, f"{{{NAMESPACE}}}{name}").text = value
    for record in records:
        element = etree.SubElement(root, f"{{{NAMESPACE}}}{ELEMENTS[kind]}")
        for field, text in record.items():
            if text is not None:
                etree.SubElement(element, f"{{{NAMESPACE}}}{field}").text = text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


class _Server(TokenServer[FeedStore]):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # the name http.server dispatches to
        if not self._authorised():
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path.rstrip("/") == "/exchange/v1":
            self._send(200, _service())
        elif parts.path in FEEDS:
            self._feed(FEEDS[parts.path], query)
        else:
            self._error(404, f"no route {parts.path}")

    def do_POST(self) -> None:
        if not self._authorised():
            return
        try:
            body = self._json_body()
            path = urlsplit(self.path).path
            if path == "/_sim/records":
                changed = json.dumps(self._change(body), ensure_ascii=False).encode()
                self._send(200, changed, "application/json")
            elif path == "/_sim/faults":
                self.server.store.inject_fault(str(body.get("kind")), int(body.get("times", 1)))
                self._send(200, b'{"ok": true}', "application/json")
            else:
                self._error(404, f"no route {path}")
        except (QueryError, TypeError, ValueError) as exc:
            self._error(400, str(exc))
        except KeyError as exc:
            self._error(404, f"no record {exc}")

    def _feed(self, kind: str, query: Mapping[str, str]) -> None:
        fault = self.server.store.take_fault()
        if fault in ("500", "503"):
            self._error(int(fault), "injected fault", {"Retry-After": "1"} if fault == "503" else {})
            return
        try:
            since = parse_since(query["updated_since"]) if query.get("updated_since") else None
        except QueryError as exc:
            self._error(400, str(exc))
            return
        body = render(kind, self.server.store.records(kind, since))
        self._send(200, body[: len(body) * 3 // 5] if fault == "truncate" else body)

    def _change(self, body: Mapping[str, Any]) -> data.Record:
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise QueryError("fields must be an object")
        if body.get("id"):
            return self.server.store.update(str(body["id"]), **fields)
        return self.server.store.add(str(body.get("type", "penalty")), **fields)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, f"Bearer {self.server.token}".encode()):
            return True
        self._error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        return False

    def _json_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise QueryError("body too large")
        body = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(body, dict):
            raise QueryError("body must be a JSON object")
        return body

    def _error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        root = etree.Element("Error")
        etree.SubElement(root, "Status").text = str(status)
        etree.SubElement(root, "Message").text = message
        self._send(status, etree.tostring(root, xml_declaration=True, encoding="UTF-8"), headers=headers)

    def _send(self, status: int, body: bytes, content_type: str = "application/xml; charset=utf-8",
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        logger.debug("%s " + format, self.address_string(), *args)


def _service() -> bytes:
    root = etree.Element(f"{{{NAMESPACE}}}Service", nsmap={None: NAMESPACE})
    etree.SubElement(root, f"{{{NAMESPACE}}}System").text = f"{data.AUTHORITY} 数据交换系统（模拟）"
    for path, kind in FEEDS.items():
        etree.SubElement(root, f"{{{NAMESPACE}}}Feed", path=path, element=ELEMENTS[kind])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class RunningEcologyEnvironment(RunningServer[FeedStore]):
    """The simulator serving in a background thread; a context manager that stops it on exit."""


def start_in_thread(port: int = 0, token: str | None = None, seed: int = 7, *, host: str = "127.0.0.1",
                    penalties: int = 60, enforcements: int = 20,
                    today: date | None = None) -> RunningEcologyEnvironment:
    """Serve on ``host:port`` (0 = any free port); without ``token`` a random one is made."""
    server = _Server((host, port), _Handler, FeedStore(seed, penalties, enforcements, today), token)
    return RunningEcologyEnvironment(server, DEPARTMENT)


def run_from_options(options: SimulatorOptions) -> None:
    """``creditsync source-sim ecology_environment``: serve until SIGTERM or SIGINT."""
    server = _Server((options.host, options.port), _Handler, FeedStore(options.seed), options.token)
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
